"""The app in a real browser: ``idiff app`` on localhost, driven by headless Chromium (Debian's, through Playwright).

Needs ``apt-get install chromium`` and ``pip install -c constraints.txt -e ".[app,browser]"``; Playwright's own
browser download is never used. ``IDIFF_SCREENSHOTS=docs/images pytest -m slow tests/test_app_browser.py`` also
copies the screenshots of both tabs there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from idiff.testing.pytest_plugin import TINY_OVERRIDES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs Debian's chromium: apt-get install -y chromium"),
]


@pytest.fixture
def app_url(tmp_path, fitted_checkpoint, alignment_candidates):
    """``idiff app`` started as a user starts it, on a free port; stopped after the test."""
    pytest.importorskip("gradio", reason='needs Gradio: pip install -c constraints.txt -e ".[app]"')
    pytest.importorskip("playwright.sync_api", reason='needs Playwright: pip install -e ".[browser]"')
    command = [sys.executable, "-m", "idiff.cli", "app", *TINY_OVERRIDES, f"ckpt={fitted_checkpoint}", "app.port=0",
               f"app.candidates={alignment_candidates}", f"paths.runs_dir={tmp_path / 'runs'}"]
    log = (tmp_path / "app.log").open("w")
    server = subprocess.Popen(command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and server.poll() is None:
            found = re.search(r"running on (http://\S+) ", (tmp_path / "app.log").read_text())
            if found:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"idiff app did not start:\n{(tmp_path / 'app.log').read_text()}")
        yield found.group(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def save_screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert Image.open(path).size[0] == 1280
    if os.environ.get("IDIFF_SCREENSHOTS"):
        shutil.copy(path, Path(os.environ["IDIFF_SCREENSHOTS"]) / name)
    return path


def stick_person(tmp_path: Path) -> Path:
    from idiff_keypoints.synthetic import write_synthetic_coco

    write_synthetic_coco(tmp_path / "person", "val2017", 1, seed=3, image_size=128)
    return next((tmp_path / "person" / "val2017").glob("*.*"))


def test_predict_and_pick_in_a_browser(app_url, tmp_path, alignment_candidates):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(120_000)

        # Predict: upload, ask for two joints, run, see the generated image, the decoded view and the COCO JSON
        page.goto(app_url)
        page.set_input_files("#predict-image input[type=file]", str(stick_person(tmp_path)))
        page.wait_for_selector("#predict-image img")
        joints = page.locator("#request-keypoints-joints input")
        for name in ("nose", "left_wrist"):
            joints.click()
            joints.fill(name)
            page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        page.click("#predict-run")
        page.wait_for_selector("#predict-overlay img")
        page.wait_for_selector("#predict-generated img")
        status = page.inner_text("#predict-status")
        # the default recipe asks one joint per instruction (as the reference was trained): two instructions
        assert "Instruction: Circle the nose of the people with the color red." in status
        assert "Instruction: Circle the left wrist of the people with the color red." in status
        assert "keypoints.json" in page.inner_text("#predict-decoded")
        (written,) = (tmp_path / "runs").glob("app/*/predictions/0001/keypoints.json")
        assert json.loads(written.read_text())["annotations"][0]["num_keypoints"] <= 2
        save_screenshot(page, tmp_path, "app-predict.png")

        # Picker: pick two candidates of the first image, save; the next image comes up
        page.get_by_role("tab", name="Human alignment").click()
        page.wait_for_selector("#picker-gallery img")
        assert "Image 1 of 3" in page.inner_text("#picker-progress")
        page.locator("#picker-gallery img").nth(4).click()
        page.locator("#picker-picks label", has_text="#17").click()
        save_screenshot(page, tmp_path, "app-picker.png")
        page.click("#picker-save")
        page.wait_for_function("document.querySelector('#picker-progress').innerText.includes('Image 2 of 3')")
        page.click("#picker-save")  # no pick: none of them is good
        page.wait_for_function("document.querySelector('#picker-progress').innerText.includes('Image 3 of 3')")

        # Close the page, open the app again: it continues at the first image without picks
        page.close()
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(app_url)
        page.get_by_role("tab", name="Human alignment").click()
        page.wait_for_function("document.querySelector('#picker-progress').innerText.includes('Image 3 of 3')")
        browser.close()

    lines = (alignment_candidates.parent / "picks.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"image": "0000", "picks": [4, 17]}, {"image": "0001", "picks": []}]
