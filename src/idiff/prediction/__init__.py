"""Prediction on the user's own images: ``idiff predict`` and the app's predict tab share this package.

:mod:`~idiff.prediction.inputs` reads the images and remembers where each source square lies in its file,
:mod:`~idiff.prediction.requests` turns an instruction or a task's structured request into requests and picks the
guidance scales, :mod:`~idiff.prediction.predictor` loads the model once, generates, decodes and writes the outputs.
"""
