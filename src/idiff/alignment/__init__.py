"""Stage 3 of InstructDiffusion, human alignment (PAPER.md "Model and training"): people pick the best 0-2 of 20
generations per image; the model is fine-tuned on the picks. :mod:`~idiff.alignment.records` holds the file formats
shared by the candidate generator, the picker (``idiff app``) and the alignment stage.
"""
