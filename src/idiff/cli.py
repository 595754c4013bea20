"""The ``idiff`` command: ``idiff <verb> [hydra overrides]``.

Verbs: ``fit``, ``validate``, ``test``, ``predict``, ``export``, ``app`` (Hydra apps over the configs in
``idiff.conf``) and ``tasks`` (the installed task plugins). The selected task's config schema comes from its
plugin's entry point and is registered as ``task/<name>`` before Hydra composes, so ``task=<name>
task.<option>=...`` works from any install.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from idiff.console import quiet_third_party
from idiff.errors import IdiffError
from idiff.preflight import check_writable
from idiff.tasks.registry import TaskRegistry

__all__ = ["compose_config", "main", "one_line"]

VERBS = ("fit", "validate", "test", "predict", "export", "app", "align", "data", "tasks")
USAGE = """usage: idiff <verb> [key=value ...]

verbs:
  fit        train on the task mixture (default: tiny model, synthetic data, CPU, minutes)
  validate   generate, decode and score the selected task with a checkpoint (ckpt=latest|reference|PATH)
  test       same as validate, on the task's test requests; prints and saves the metric table
  export     write a checkpoint as a diffusers pipeline folder: output=DIR (format=diffusers|original|idiff)
  predict    your own images: input=PATH|DIR|GLOB instruction="..." or task=NAME request.FIELD=...
  app        web app: predict with a decoded view, and the human-alignment picker (pip install -e ".[app]")
  align generate   candidates of each benchmark image under 20 guidance settings, for people to pick (stage 3)
  data filter      the paper's editing-data filter (aesthetic + GIQA): filter.manifest=... filter.reference=...
  tasks      list installed task plugins

examples:
  idiff fit
  idiff test task=keypoints
  idiff fit experiment=paper model.pretrained_path=/models/sd15 strategy=ddp trainer.devices=8
  idiff fit stage=pretrain_adaptation        (then stage=task_specific init_weights=<its last.ckpt>)
  idiff align generate task=keypoints ckpt=latest
  idiff data filter filter.manifest=pairs.jsonl filter.reference=real/ filter.backbone_weights=resnet50.safetensors
  idiff test task=keypoints ckpt=reference sampler.num_steps=50
  idiff predict input=photos/ task=keypoints request.joints=[nose,left_wrist]
Overrides are Hydra syntax; add --cfg job to print the composed config, -m to sweep."""


def default_task() -> str:
    """The ``task`` entry of the primary config's defaults list."""
    config = OmegaConf.create(resources.files("idiff.conf").joinpath("config.yaml").read_text())
    for entry in config.defaults:
        if isinstance(entry, DictConfig) and "task" in entry:
            return str(entry.task)
    return "keypoints"


def selected_tasks(overrides: list[str]) -> list[str]:
    """Task names chosen by ``task=...`` overrides (several in a ``-m`` sweep), else the default."""
    for override in overrides:
        if override.startswith("task="):
            return [name.strip() for name in override.split("=", 1)[1].split(",") if name.strip()]
    return [default_task()]


def prepare_overrides(verb: str, overrides: list[str], registry: TaskRegistry | None = None) -> list[str]:
    """Register the selected tasks' config schemas with Hydra; return the overrides plus command / task_name."""
    registry = registry or TaskRegistry()
    names = selected_tasks(overrides)
    for name in names:
        ConfigStore.instance().store(group="task", name=name, node=registry.load(name).Config)
    extra = [f"command={verb}"]
    if len(names) == 1:
        extra.append(f"task_name={names[0]}")
    # task.<option>= on the command line wins over data.tasks.<task>.<option> even where it equals the plugin's default
    # (`task.max_test_requests=0` under an experiment that caps it): idiff.tasks.factory.task_overrides reads the list
    explicit = [o.split("=", 1)[0].lstrip("+")[len("task."):] for o in overrides
                if o.lstrip("+").startswith("task.") and "=" in o]
    if explicit:
        extra.append(f"++explicit_task_keys=[{','.join(explicit)}]")
    # request.<field>= fills the free-form `request` map (a task's fields are checked by idiff.prediction.requests)
    return [*extra, *(f"++{o}" if o.startswith("request.") else o for o in overrides)]


def compose_config(verb: str, overrides: list[str] | None = None, registry: TaskRegistry | None = None) -> DictConfig:
    """The config the CLI would run ``verb`` with (no Hydra runtime; used by tests and notebooks)."""
    from hydra import compose, initialize_config_module

    prepared = prepare_overrides(verb, list(overrides or []), registry)
    with initialize_config_module(config_module="idiff.conf", version_base="1.3"):
        return compose(config_name="config", overrides=prepared)


def _run(cfg: DictConfig, run_dir: Path) -> None:
    from idiff import workflows

    if cfg.get("task_name") is None:
        cfg.task_name = HydraConfig.get().runtime.choices.get("task")
    match cfg.command:
        case "fit":
            workflows.fit(cfg, run_dir)
        case "validate" | "test":
            workflows.evaluate(cfg, run_dir, cfg.command)
        case "predict":
            workflows.predict(cfg, run_dir)
        case "export":
            from idiff.export import export

            export(cfg)
        case "app":
            from idiff.app.server import serve

            serve(cfg, run_dir)
        case "align":
            from idiff.alignment.candidates import generate_candidates

            generate_candidates(cfg, run_dir)
        case "data":
            from idiff.filtering.command import filter_data

            filter_data(cfg)


def one_line(err: IdiffError) -> str:
    """The error's message; for one re-raised from a DataLoader worker (whose message is the worker's formatted
    traceback), the original message from its last line."""
    message = str(err)
    if "Original Traceback" in message:
        last = [line for line in message.splitlines() if line.strip()][-1]
        message = last.split(": ", 1)[1] if ": " in last else last
    return message


@hydra.main(config_path="pkg://idiff.conf", config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    quiet_third_party()
    try:
        _run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except IdiffError as err:
        print(f"idiff: error: {one_line(err)}", file=sys.stderr)
        sys.exit(2)


def _print_tasks() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="installed idiff tasks (entry-point group idiff.tasks)")
    for column in ("task", "distribution", "version", "entry point", "status"):
        table.add_column(column)
    infos = TaskRegistry().describe()
    for info in infos:
        table.add_row(info.name, info.distribution, info.version, info.target, info.error or "ok")
    Console().print(table if infos else "no idiff tasks installed (pip install plugins/idiff-keypoints)")


#: Hydra's command-line flags (``hydra._internal.utils.get_args_parser``, Hydra 1.3) by how many values they take;
#: ``--info`` takes one only from its choices. tests/test_configs.py checks the table against Hydra's parser.
HYDRA_FLAGS_WITHOUT_VALUE = ("-h", "--help", "--hydra-help", "--version", "--resolve", "-r", "--run", "-m",
                             "--multirun", "-sc", "--shell-completion")
HYDRA_FLAGS_WITH_VALUE = ("-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name", "-cd",
                          "--config-dir", "--experimental-rerun")
HYDRA_INFO_FLAGS, HYDRA_INFO_CHOICES = ("-i", "--info"), ("all", "config", "defaults", "defaults-tree", "plugins",
                                                          "searchpath")


def hydra_argv(arguments: list[str]) -> list[str]:
    """Hydra's flags (with their values) first, then the overrides in their order.

    Hydra's argparse takes the overrides as one positional list, which cannot resume after a flag: ``idiff test
    task=denoise -m wise_ft=0.5,1.0`` (or the CLI's own ``command=`` override before a user's ``-m``) would end in
    "unrecognized arguments".
    """
    flags, overrides, last, i = [], [], [], 0
    while i < len(arguments):
        token = arguments[i]
        name = token.split("=", 1)[0]
        i += 1
        if name not in (*HYDRA_FLAGS_WITHOUT_VALUE, *HYDRA_FLAGS_WITH_VALUE, *HYDRA_INFO_FLAGS):
            overrides.append(token)
        elif name in HYDRA_FLAGS_WITHOUT_VALUE or "=" in token:  # -m, or a value in the token: --cfg=job
            flags.append(token)
        elif name in HYDRA_FLAGS_WITH_VALUE and i < len(arguments):
            flags += [token, arguments[i]]
            i += 1
        elif name in HYDRA_INFO_FLAGS and i < len(arguments) and arguments[i] in HYDRA_INFO_CHOICES:
            flags += [token, arguments[i]]
            i += 1
        else:  # --info without its value would take the next override as one: it goes last
            last.append(token)
    return [*flags, *overrides, *last]


def _validate_overrides(verb: str, overrides: list[str]) -> None:
    """Compose once up front so a bad key or value is reported in one line, not a Hydra traceback."""
    if any(o in ("-m", "--multirun") or o.startswith("-") for o in overrides):
        return
    try:
        cfg = compose_config(verb, overrides)
    except IdiffError:
        raise
    except Exception as err:  # noqa: BLE001 - Hydra / OmegaConf composition errors
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise IdiffError(" ".join(lines[:2]) or type(err).__name__) from err
    check_writable(cfg.paths.runs_dir)  # before Hydra creates the run directory there


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("command="):
        # Re-launched by Lightning's DDP launcher with the already prepared overrides: register and run.
        task_name = next((a.split("=", 1)[1] for a in argv if a.startswith("task_name=")), default_task())
        ConfigStore.instance().store(group="task", name=task_name, node=TaskRegistry().load(task_name).Config)
        sys.argv = [sys.argv[0], *argv]
        _hydra_main()
        return
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    verb, overrides = argv[0], argv[1:]
    if verb not in VERBS:
        print(f"idiff: error: unknown verb {verb!r}; allowed: {', '.join(VERBS)}", file=sys.stderr)
        sys.exit(2)
    if verb == "tasks":
        _print_tasks()
        return
    if verb == "align":  # `idiff align generate ...`: the generation settings live in stage=human_alignment
        if not overrides or overrides[0] != "generate":
            print("idiff: error: usage: idiff align generate [key=value ...]", file=sys.stderr)
            sys.exit(2)
        overrides = ["stage=human_alignment", *overrides[1:]]
    if verb == "data":  # `idiff data filter ...`
        if not overrides or overrides[0] != "filter":
            print("idiff: error: usage: idiff data filter filter.manifest=... filter.reference=... [key=value ...]",
                  file=sys.stderr)
            sys.exit(2)
        overrides = overrides[1:]
    try:
        _validate_overrides(verb, overrides)
        prepared = prepare_overrides(verb, overrides)
    except IdiffError as err:
        print(f"idiff: error: {err}", file=sys.stderr)
        sys.exit(2)
    sys.argv = [sys.argv[0], *hydra_argv(prepared)]
    _hydra_main()


if __name__ == "__main__":
    main()
