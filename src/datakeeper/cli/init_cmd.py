"""``datakeeper init``: the setup wizard (prompts, or flags and --yes for scripts)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from datakeeper.cli.options import global_options

NO_BACKUP = "none"


def init(
    ctx: typer.Context,
    group: Annotated[Optional[str], typer.Option(help="Shared group [gpu-users].")] = None,  # noqa: UP045
    admin: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Admin account [the user who ran sudo]."),
    ] = None,
    data_root: Annotated[Optional[str], typer.Option(help="Data root [/data].")] = None,  # noqa: UP045
    backup_root: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Backup root [/backup if it exists]; 'none' for no backup root."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
) -> None:
    """Set the server up: group, storage, folders, admin home, environment, sudo.

    Rerunning it changes nothing when everything is already as configured.
    """
    from datakeeper.cli import setup_output
    from datakeeper.config import resolve_config_path
    from datakeeper.engine.session import require_root
    from datakeeper.errors import InvalidInputError
    from datakeeper.features.setup.config_file import prepare_config
    from datakeeper.features.setup.init import check_preconditions, run_setup
    from datakeeper.features.setup.steps import SetupContext
    from datakeeper.i18n import _

    options = global_options(ctx)
    dry_run = dry_run or options.dry_run
    assume_yes = yes or options.assume_yes
    interactive = not assume_yes and sys.stdin.isatty()
    if not (dry_run or assume_yes or interactive):
        raise InvalidInputError(
            _("init changes the system and there is no terminal to ask: pass --yes (or --dry-run)")
        )
    require_root("init")
    path = resolve_config_path(options.config_path)
    answers = _answers(path, group, admin, data_root, backup_root, interactive)
    cfg, config_text = prepare_config(path, answers)
    check_preconditions(cfg)
    context = SetupContext(cfg, path, config_text)
    reporter = setup_output.SetupPrinter(options.json_output)
    if interactive and not dry_run:
        run_setup(context, dry_run=True, reporter=reporter)
        if not typer.confirm(_("Apply these changes?"), default=False):
            raise typer.Exit(1)
    report = run_setup(context, dry_run=dry_run, reporter=reporter)
    setup_output.finish(report, options.json_output)
    if not report.ok:
        raise typer.Exit(1)


def _answers(path: Path, group, admin, data_root, backup_root, interactive: bool):
    """Flags first; then prompts (interactive, new config only); then defaults."""
    from datakeeper.features.setup.config_file import NO_BACKUP as NONE
    from datakeeper.features.setup.config_file import Answers
    from datakeeper.i18n import _

    if backup_root is not None and backup_root.lower() == NO_BACKUP:
        backup_root = NONE
    if path.exists():
        return Answers(group, admin, data_root, backup_root)
    defaults = {
        "group": "gpu-users",
        "admin": os.environ.get("SUDO_USER") or None,
        "data_root": "/data",
        "backup_root": "/backup" if Path("/backup").is_dir() else NONE,
    }
    given = {"group": group, "admin": admin, "data_root": data_root, "backup_root": backup_root}
    prompts = {
        "group": _("Shared group"),
        "admin": _("Admin account"),
        "data_root": _("Data root (persistent disk)"),
        "backup_root": _("Backup root ('none' for no backup)"),
    }
    values = {}
    for key, value in given.items():
        if value is None and interactive:
            value = typer.prompt(prompts[key], default=defaults[key] or "")
            value = NONE if key == "backup_root" and value.lower() == NO_BACKUP else value
        values[key] = value if value is not None else defaults[key]
    return Answers(**values)
