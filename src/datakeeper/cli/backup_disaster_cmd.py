"""``datakeeper backup restore --everything``: rebuild the site on an empty data disk.

Called by the ``restore`` command of ``cli/backup_cmd.py``. Exit codes: 0 done;
1 the recovery that follows had problems; 2 no such snapshot; 3 refused (not
root, a storage root not the persistent disk, homes present and not confirmed);
4 another admin run holds the lock.
"""

from __future__ import annotations

import sys

import typer

from datakeeper.cli import setup_output
from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, stdout_console
from datakeeper.errors import RefusedError
from datakeeper.i18n import _
from datakeeper.status import change_line

# The features (pydantic, the engine, recovery) are imported inside the function:
# at the top they would slow every start-up, `datakeeper --help` included.


def restore_everything(ctx: typer.Context, snapshot: str | None) -> None:
    """Restore the config, the registry and every backed-up folder from ``snapshot``
    (default: the newest complete), then run ``recover``."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import resolve_config_path
    from datakeeper.engine.session import require_root
    from datakeeper.features.backup.disaster import plan_everything
    from datakeeper.features.backup.disaster import restore_everything as run_restore

    require_root("backup restore --everything")
    options = global_options(ctx)
    config_path = resolve_config_path(options.config_path).absolute()
    live = site_config(ctx, missing_ok=True)  # after losing /data there is none: defaults
    plan = plan_everything(live.storage.backup_root, config_path, snapshot)
    if options.dry_run:
        emit(
            plan.as_dict(), json_output=options.json_output, render=lambda c: _render_plan(c, plan)
        )
        return
    over_present = _confirm_over_present(plan, options)
    reporter = setup_output.SetupPrinter(options.json_output)
    report = run_restore(plan, over_present=over_present, reporter=reporter)

    def render(console) -> None:
        for path in report.kept_aside:
            console.print(_("kept the old file as {path}").format(path=path), markup=False)
        console.print(report.recovery.summary(), markup=False)

    emit(report.as_dict(), json_output=options.json_output, render=render)
    if not report.ok:
        raise typer.Exit(1)


def _render_plan(console, plan) -> None:
    for line in plan.sentences():
        console.print(change_line(line, "planned", worded=True), markup=False)
    console.print(_("Dry run: nothing was restored."))


def _confirm_over_present(plan, options) -> bool:
    """Whether to restore over homes already there: ``--yes``, or the admin says so."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.backup.disaster import present_sentence

    if not plan.present or options.assume_yes:
        return True
    sentence = present_sentence(plan)
    if options.json_output or not sys.stdin.isatty():
        raise RefusedError(_("{what}; pass --yes to restore over them").format(what=sentence))
    console = stdout_console()
    console.print(sentence, markup=False)
    for line in plan.sentences():
        console.print(change_line(line, "planned", worded=True), markup=False)
    if not typer.confirm(_("Restore over them?"), default=False):
        raise typer.Exit(1)
    return True
