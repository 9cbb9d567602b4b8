"""``datakeeper init``: the setup wizard (prompts, or flags and --yes for scripts)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from datakeeper.cli import setup_output
from datakeeper.cli.options import global_options
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _


def init(
    ctx: typer.Context,
    group: Annotated[Optional[str], typer.Option(help=_("Shared group [gpu-users]."))] = None,  # noqa: UP045
    admin: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help=_("Admin account [the user who ran sudo].")),
    ] = None,
    data_root: Annotated[Optional[str], typer.Option(help=_("Data root [/data]."))] = None,  # noqa: UP045
    backup_root: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help=_("Backup root [/backup if it exists]; 'none' for no backup root.")),
    ] = None,
) -> None:
    """Set the server up: group, storage, folders, admin home, environment, sudo."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~0.1 s).
    from datakeeper.config import resolve_config_path
    from datakeeper.engine.session import require_root
    from datakeeper.features.setup.answers import resolve_answers
    from datakeeper.features.setup.config_file import Answers, prepare_config
    from datakeeper.features.setup.init import check_preconditions, run_setup
    from datakeeper.features.setup.steps import SetupContext

    options = global_options(ctx)
    dry_run = options.dry_run
    assume_yes = options.assume_yes
    interactive = not assume_yes and sys.stdin.isatty()
    if not (dry_run or assume_yes or interactive):
        raise InvalidInputError(
            _("init changes the system and there is no terminal to ask: pass --yes (or --dry-run)")
        )
    require_root("init")
    path = resolve_config_path(options.config_path)
    given = Answers(group, admin, data_root, backup_root)
    answers = resolve_answers(path, given, ask=_ask if interactive else None)
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


def _ask(question: str, default: str) -> str:
    """One of init's questions at the terminal (Enter takes the default)."""
    return typer.prompt(question, default=default)
