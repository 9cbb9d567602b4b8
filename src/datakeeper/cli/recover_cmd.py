"""``datakeeper recover``: bring the server back after its root disk was wiped."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datakeeper.cli import setup_output
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit
from datakeeper.i18n import _

# The config, the engine and the recovery features (~0.15 s, measured with
# `python3 -X importtime`) and the storage check are imported inside the functions:
# at the top they would slow every start-up, `datakeeper --help` included.


def recover(
    ctx: typer.Context,
    boot: Annotated[
        bool, typer.Option("--boot", help=_("Run as the boot service (no questions)."))
    ] = False,
) -> None:
    """Recreate groups, every registered account (same ids) and the environment."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import resolve_config_path
    from datakeeper.engine.session import require_root
    from datakeeper.features.recovery.recover import recover as run_recovery

    options = global_options(ctx)
    require_root("recover")
    path = resolve_config_path(options.config_path)
    cfg = _load_config(path)
    reporter = setup_output.SetupPrinter(options.json_output)
    report = run_recovery(cfg, path, dry_run=options.dry_run, reporter=reporter)

    def render(console) -> None:
        for user in report.skipped:
            skipped = _("skipped {user}: {errors}").format(
                user=user.title, errors="; ".join(user.errors)
            )
            console.print(f"  {skipped}", markup=False)
        console.print(report.summary(), markup=False)
        if not report.ok:
            problems = _("recovery finished with problems; logins are open again (logins "
                         "are told); details: datakeeper recovery status")  # fmt: skip
            console.print(problems, markup=False)

    emit(report.as_dict(), json_output=options.json_output, render=render)
    if not report.ok:
        raise typer.Exit(1)


def _load_config(path: Path):
    """The site config; when it is missing, first ask whether its disk is mounted at all."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import load_config
    from datakeeper.storage import ensure_persistent

    if not path.exists() and len(path.parents) >= 3:
        ensure_persistent(path.parents[1])  # <data_root>/config/datakeeper.toml
    return load_config(path)
