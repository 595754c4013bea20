"""``idiff data filter``: the paper's editing-data filter (LAION aesthetic score + KNN-GIQA) over a JSONL manifest."""
