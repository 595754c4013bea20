"""nox sessions of idiff: tests, slow tests, lint, the demo run, benchmarks, and one session per task plugin.

Every install passes ``-c constraints.txt`` (torch and torchvision pinned; see README.md).
Run ``nox`` for the default sessions (lint, tests), ``nox -l`` to list all, ``nox -s <name>`` for one.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p.parent.name for p in ROOT.glob("plugins/*/pyproject.toml"))
BENCHMARKS = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("bench/*.py") if not p.name.startswith("_"))

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests"]


def install(session: nox.Session, *requirements: str) -> None:
    """``pip install -c constraints.txt <requirements>``."""
    session.install("-c", "constraints.txt", *requirements)


def install_all(session: nox.Session, extras: str = "dev") -> None:
    """The core with its ``extras`` and every plugin under plugins/, editable."""
    plugins = [arg for name in PLUGINS for arg in ("-e", f"plugins/{name}")]
    install(session, "-e", f".[{extras}]", *plugins)


@nox.session
def tests(session: nox.Session) -> None:
    """The fast test suite with every plugin installed."""
    install_all(session)
    session.run("pytest", *session.posargs)


@nox.session
def slow(session: nox.Session) -> None:
    """Tests marked slow (the app's browser test needs Debian's chromium); exit code 5 (none collected) is success."""
    install_all(session, "dev,app,browser")
    session.run("pytest", "-m", "slow", *session.posargs, success_codes=[0, 5])


@nox.session
def lint(session: nox.Session) -> None:
    """Lint the core, tests, plugins, benchmarks and this file with ruff."""
    install(session, "ruff>=0.5")
    session.run("ruff", "check", "src", "tests", "plugins", "bench", "noxfile.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The README's main job: train the embedded default, then test it on the keypoints task."""
    install_all(session)
    session.run("idiff", "fit", *session.posargs)
    session.run("idiff", "test", "task=keypoints")


@nox.session
def bench(session: nox.Session) -> None:
    """Every script in bench/ (side-by-side measurements, not tests)."""
    install_all(session)
    for script in BENCHMARKS:
        session.run("python", script, *session.posargs)


@nox.session
@nox.parametrize("plugin", [nox.param(name, id=name) for name in PLUGINS])
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin's tests with only the core and that plugin installed."""
    install(session, "-e", ".[dev]", "-e", f"plugins/{plugin}")
    session.run("pytest", f"plugins/{plugin}", *session.posargs)
