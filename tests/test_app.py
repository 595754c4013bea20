"""The app without a browser: the picker's resuming from files, the predict session, the Blocks, the install hint."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from idiff.alignment.records import PICKS_FILE, read_picks
from idiff.app.picker_tab import PickerSession
from idiff.errors import ConfigError, DataError


def test_picker_saves_each_judgement_and_a_new_session_resumes_where_it_stopped(alignment_candidates):
    session = PickerSession(alignment_candidates.parent)  # the folder works as well as the file
    assert session.resume() == 0
    view = session.view(0)
    assert len(view.candidates) == 20 and view.picks == [] and "Image 1 of 3" in view.progress
    assert session.save(0, [4, 11]) == 1
    assert session.save(1, []) == 2  # "none is good" is a judgement too

    reopened = PickerSession(alignment_candidates)  # the browser was closed, the server restarted
    assert reopened.resume() == 2
    assert reopened.view(0).picks == [4, 11] and "2 of 3 judged" in reopened.view(2).progress
    assert reopened.save(2, [19]) == 2  # every image judged: stay
    assert reopened.resume() == 2
    with pytest.raises(DataError, match="pick 0-2 distinct candidates"):
        reopened.save(0, [1, 2, 3])
    assert [r.image for r in read_picks(alignment_candidates.parent / PICKS_FILE)] == ["0000", "0001", "0002"]


def test_picker_names_a_bad_candidates_file(tmp_path):
    (tmp_path / "candidates.jsonl").write_text("")
    with pytest.raises(DataError, match="candidates.jsonl: no candidates records"):
        PickerSession(tmp_path)


def test_request_fields_offer_joint_names_and_templates(idiff_config, tmp_path):
    from idiff.app.predict_tab import request_fields
    from idiff.tasks.factory import build_task

    fields = {f.name: f for f in request_fields(build_task("keypoints", idiff_config("app")))}
    assert fields["joints"].kind == "list" and "left_wrist" in fields["joints"].choices
    assert fields["template"].kind == "int" and fields["template"].choices[0].startswith("Circle the {joint}")
    assert "empty = every joint" in fields["joints"].help
    segmentation = {f.name: f for f in request_fields(build_task("referring_segmentation", idiff_config("app")))}
    assert segmentation["expression"].kind == "str" and segmentation["expression"].choices is None


def test_predict_session_answers_a_request_with_the_decoded_view(idiff_config, fitted_checkpoint, tmp_path):
    from idiff.app.predict_tab import FREE_TEXT, PredictSession

    session = PredictSession(idiff_config("app", f"ckpt={fitted_checkpoint}"), tmp_path / "app")
    assert {"keypoints", "referring_segmentation", "semantic_segmentation"} <= set(session.tasks)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(tmp_path / "me.png")
    request = {"joints": ["nose", "left_wrist"], "colours": [], "template": 0}
    answer = session.predict(str(tmp_path / "me.png"), "keypoints", "", request, 6.0, 0.5, 3)
    assert len(answer.generated) == 2  # one joint per instruction, as experiment=embedded trains keypoints
    assert answer.generated[0][1].startswith("Circle the nose") and "left wrist" in answer.generated[1][1]
    assert answer.overlay is not None and answer.overlay.shape[0] >= 256  # enlarged for the screen
    assert answer.decoded["keypoints.json"]["images"][0]["width"] == 64
    assert (answer.out_dir / "overlays" / "me.png").is_file()
    assert answer.out_dir.parent == tmp_path / "app" / "predictions"
    edit = session.predict(str(tmp_path / "me.png"), FREE_TEXT, "make it blue", {}, 5.0, 1.25, 3)
    assert edit.overlay is None and edit.decoded == {} and "make it blue" in edit.status
    with pytest.raises(ConfigError, match="unknown joint 'elbow'"):
        session.predict(str(tmp_path / "me.png"), "keypoints", "", {"joints": ["elbow"]}, 6.0, 0.5, 0)


def test_build_app_returns_blocks_with_both_tabs(idiff_config, tmp_path, alignment_candidates):
    gr = pytest.importorskip("gradio", reason="the app needs Gradio: pip install -e '.[app]'")
    from idiff.app.server import build_app

    app = build_app(idiff_config("app", f"app.candidates={alignment_candidates}"), tmp_path / "app")
    assert isinstance(app, gr.Blocks)
    ids = {getattr(block, "elem_id", None) for block in app.blocks.values()}
    assert {"tab-predict", "tab-picker", "predict-run", "picker-save", "request-keypoints-joints"} <= ids


def test_without_gradio_idiff_app_says_what_to_install(tmp_path, monkeypatch, capsys):
    from idiff.cli import main

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio now raises ImportError
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["app"])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("idiff: error: idiff app needs Gradio")
    assert 'pip install -c constraints.txt -e ".[app]"' in line
