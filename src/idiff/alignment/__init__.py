"""Stage 3, human alignment: candidates under many guidance settings, people's picks, fine-tuning on them."""
