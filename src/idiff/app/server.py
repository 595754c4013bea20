"""Building and serving the app: :func:`build_app` returns the ``gr.Blocks``; :func:`serve` is ``idiff app``.

Nothing leaves the machine: Gradio's analytics are off, server-side rendering (which needs Node) is off, no share
link is made. The server listens on ``app.host``:``app.port`` (127.0.0.1:7860 by default; port 0 takes a free one).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from idiff.errors import ConfigError

__all__ = ["build_app", "import_gradio", "serve"]

INSTALL_HINT = 'pip install -c constraints.txt -e ".[app]"'


def import_gradio() -> Any:
    """The ``gradio`` module, with analytics off; a missing install is a one-line error saying what to run."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError as err:
        raise ConfigError(f"idiff app needs Gradio, which is not installed ({err}); run: {INSTALL_HINT}") from None
    return gradio


def build_app(cfg: DictConfig, run_dir: Path) -> Any:
    """The app as a ``gr.Blocks``: the predict tab and the human-alignment picker tab."""
    gr = import_gradio()
    from idiff.app.picker_tab import build_picker_tab
    from idiff.app.predict_tab import PredictSession, build_predict_tab

    session = PredictSession(cfg, run_dir)
    with gr.Blocks(title="idiff", analytics_enabled=False) as app:
        gr.Markdown("# idiff: vision tasks as instruction-guided image editing")
        with gr.Tab("Predict", elem_id="tab-predict"):
            build_predict_tab(gr, session)
        with gr.Tab("Human alignment", elem_id="tab-picker"):
            path_box, outputs, show = build_picker_tab(gr, cfg.app.get("candidates"))
        app.load(lambda p: show(p, -1), [path_box], outputs)  # a reopened page resumes at the first unjudged image
    return app


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(cfg: DictConfig, run_dir: Path, block: bool = True) -> tuple[Any, str]:
    """Start the app's server; prints its URL. With ``block`` it runs until interrupted (Ctrl-C)."""
    app = build_app(cfg, run_dir)
    host = str(cfg.app.host)
    port = int(cfg.app.port) or _free_port(host)
    app.queue()
    try:
        _, url, _ = app.launch(server_name=host, server_port=port, prevent_thread_lock=True, share=False,
                               quiet=True, ssr_mode=False, footer_links=[])
    except OSError as err:
        raise ConfigError(f"app.port={port}: cannot listen on {host}:{port} ({err}); choose another app.port") from None
    print(f"idiff app: running on {url} (Ctrl-C stops it); answers are written under {run_dir}", flush=True)
    if block:
        try:
            app.block_thread()
        finally:
            app.close()
    return app, url
