"""``idiff app``: a Gradio web app with two tabs.

- *Predict* (:mod:`~idiff.app.predict_tab`): upload an image, pick a task and fill its request (instruction templates
  offered) or type a free-text edit, set the guidance scales and see the generated image with the decoded result drawn
  over it (points, mask, box);
- *Human alignment* (:mod:`~idiff.app.picker_tab`): judge the 20 candidates of each image written by
  ``idiff align generate``, picking 0-2, recorded in ``picks.jsonl`` (:mod:`idiff.alignment.records`).

Gradio is an optional dependency (``pip install -c constraints.txt -e ".[app]"``); :mod:`~idiff.app.server` says so in
one line when it is missing. The sessions (:class:`~idiff.app.predict_tab.PredictSession`,
:class:`~idiff.app.picker_tab.PickerSession`) hold the logic and work without Gradio.
"""
