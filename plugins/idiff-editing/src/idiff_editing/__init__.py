"""idiff-editing: instruction-guided image editing, the task InstructDiffusion's editing data trains.

One task plugin, found by idiff through the ``idiff.tasks`` entry point ``editing``
(:class:`idiff_editing.task.EditingTask`). The instruction comes from the data. Modules: :mod:`~idiff_editing.pairs`
(the editing pair every reader returns), :mod:`~idiff_editing.ip2p` (InstructPix2Pix's CLIP-filtered dataset),
:mod:`~idiff_editing.magicbrush` (MagicBrush's release), :mod:`~idiff_editing.manifest_pairs` (the generic JSONL
manifest of :mod:`idiff.data.manifest`), :mod:`~idiff_editing.dataset` (weighted training samples),
:mod:`~idiff_editing.shapes`, :mod:`~idiff_editing.synthetic` (edits of shape scenes written in the InstructPix2Pix
layout), :mod:`~idiff_editing.scores` (L1 / L2, CLIP and aesthetic scores) and :mod:`~idiff_editing.config`.
Importing the package itself is cheap: it imports none of them.
"""

__version__ = "0.1.0"
