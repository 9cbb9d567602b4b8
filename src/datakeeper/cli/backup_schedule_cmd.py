"""``datakeeper backup enable / disable / status``: the schedule of snapshots.

Registered on the ``backup`` group by ``cli/backup_cmd.py``. Exit codes as
there: 0 done; 1 a run failed; 2 bad input; 3 refused (not root, no cron and
no systemd); 4 another admin run holds the lock.
"""

from __future__ import annotations

import typer

from datakeeper.cli.common import change_printer, print_outcome_summary, site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit

# The features (pydantic, the engine) are imported inside the commands: at the top
# they would slow every start-up, `datakeeper --help` included (as in backup_cmd.py).


def enable(ctx: typer.Context) -> None:
    """Take a snapshot on the [backup] schedule: a systemd timer, or cron."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import resolve_config_path
    from datakeeper.engine.session import require_root
    from datakeeper.features.backup.schedule import enable_schedule

    require_root("backup enable")
    options = global_options(ctx)
    path = resolve_config_path(options.config_path).absolute()
    printer = change_printer(options.json_output)
    outcome = enable_schedule(site_config(ctx), path, dry_run=options.dry_run, on_change=printer)
    print_outcome_summary(outcome, json_output=options.json_output)


def disable(ctx: typer.Context) -> None:
    """Stop the scheduled snapshots and remove the timer (or cron file)."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.backup.schedule import disable_schedule

    require_root("backup disable")
    options = global_options(ctx)
    printer = change_printer(options.json_output)
    outcome = disable_schedule(site_config(ctx), dry_run=options.dry_run, on_change=printer)
    print_outcome_summary(outcome, json_output=options.json_output)


def status(ctx: typer.Context) -> None:
    """The schedule, the next run, the last run and the last error."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import resolve_config_path
    from datakeeper.engine.session import require_root
    from datakeeper.features.backup.schedule import backup_status

    require_root("backup status")
    options = global_options(ctx)
    path = resolve_config_path(options.config_path).absolute()
    found = backup_status(site_config(ctx), path)
    emit(found.as_dict(), json_output=options.json_output, render=lambda c: _render(c, found))


def _render(console, found) -> None:
    for line in found.lines():
        console.print(line, markup=False)
