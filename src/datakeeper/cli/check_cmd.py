"""``datakeeper check``: the configuration test; ``--fix`` converges what drifted."""

from __future__ import annotations

from typing import Annotated

import typer

from datakeeper.cli import setup_output
from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit
from datakeeper.i18n import _

# The config, the engine and the features are imported inside the command, when it
# runs: importing them here would add pydantic and the engine to every start-up
# (`datakeeper --help` takes ~0.15 s; they would add ~0.18 s).


def check(
    ctx: typer.Context,
    fix: Annotated[
        bool, typer.Option("--fix", help=_("Apply the fixes it can, then check again."))
    ] = False,
) -> None:
    """Check the server against the site config: PASS / FAIL / SKIP per item."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import resolve_config_path
    from datakeeper.features.check.run import run_checks

    options = global_options(ctx)
    cfg = site_config(ctx)
    path = resolve_config_path(options.config_path)
    if fix:
        _fix(cfg, path, options)
    report = run_checks(cfg, path)
    emit(report.as_dict(), json_output=options.json_output, render=lambda c: _render(c, report))
    if not report.ok:
        raise typer.Exit(1)


def _fix(cfg, path, options) -> None:
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.check.fix import fix
    from datakeeper.features.setup.steps import SetupContext

    require_root("check --fix")
    reporter = setup_output.SetupPrinter(options.json_output)
    fix(SetupContext(cfg, path), dry_run=options.dry_run, reporter=reporter)


def _render(console, report) -> None:
    for advice in report.advice:
        console.print(f"! {advice}", markup=False)
    group = None
    for result in report.results:
        if result.group != group:
            group = result.group
            console.print(group, markup=False)
        detail = f"  ({result.detail})" if result.detail else ""
        console.print(f"  {result.status}  {result.subject}{detail}", markup=False)
    console.print(report.summary(), markup=False)
