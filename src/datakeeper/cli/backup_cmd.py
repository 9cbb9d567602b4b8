"""``datakeeper backup``: snapshots of the data disk on the backup disk (rsync).

Exit codes: 0 done; 1 a snapshot failed, or ``verify`` found damage (missing,
changed or extra files); 2 bad input (no such snapshot, no backup root);
3 refused (not root, a storage root not mounted, /backup would pass the alert
threshold: nothing was written); 4 another admin run holds the lock.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from datakeeper.cli import backup_disaster_cmd, backup_restore_cmd, backup_schedule_cmd
from datakeeper.cli.common import change_printer, print_warning, site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table, stdout_console
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _
from datakeeper.sizes import human_size
from datakeeper.status import change_line
from datakeeper.text import printable

# The backup features (pydantic through the config, the engine) are imported
# inside the commands: at the top they would slow every start-up, `datakeeper
# --help` included (as in cache_cmd.py).

app = typer.Typer(help=_("Snapshots of /data on the backup disk."), no_args_is_help=True)


@app.command(
    "run",
    help=_("Copy the homes (and [backup] sources) into a new snapshot on the backup disk."),
    short_help=_("Take a snapshot now."),
)
def run(
    ctx: typer.Context,
    scheduled: Annotated[
        bool,
        typer.Option("--scheduled", help=_("Run by the timer: a failure raises the alert hook.")),
    ] = False,
) -> None:
    """Copy the homes (and [backup] sources) into a new snapshot on the backup disk."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import resolve_config_path
    from datakeeper.engine.session import require_root
    from datakeeper.features.backup.last_run import run_recorded

    require_root("backup run")
    options = global_options(ctx)
    cfg = site_config(ctx)
    config_path = resolve_config_path(options.config_path)
    report = run_recorded(
        cfg, config_path, dry_run=options.dry_run, scheduled=scheduled, warn=print_warning
    )
    emit(report.as_dict(), json_output=options.json_output, render=lambda c: _render_run(c, report))
    if not report.outcome.ok:
        raise typer.Exit(1)


def _render_run(console, report) -> None:
    outcome = report.outcome
    for change in outcome.planned if outcome.dry_run else outcome.applied:
        state = "planned" if outcome.dry_run else "applied"
        console.print(change_line(change.summary, state, worded=True), markup=False)
        if change.result:
            console.print(f"    {change.result}", markup=False)
    if outcome.dry_run:
        console.print(_("Dry run: nothing was copied."))


@app.command(
    "list",
    help=_("Every snapshot: time, size added, total, per-user sizes, state."),
    short_help=_("Snapshots: time, sizes, state."),
)
def list_snapshots(ctx: typer.Context) -> None:
    """Every snapshot: time, size added, total, per-user sizes, state."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.backup.listing import list_backups

    require_root("backup list")
    rows = list_backups(site_config(ctx))
    data = [row.as_dict() for row in rows]
    emit(data, json_output=global_options(ctx).json_output, render=lambda c: _render_list(c, rows))


def _render_list(console, rows) -> None:
    from datakeeper.features.backup.listing import state_for_people  # see list_ on imports

    if not rows:
        console.print(_("No snapshot yet; take one with 'datakeeper backup run'."))
        return
    table = new_table(console, _("snapshot"), _("state"), _("added"), _("total"), _("per user"))
    for row in rows:
        users = ", ".join(f"{printable(n)} {human_size(b)}" for n, b in row.users.items())
        table.add_row(
            row.name,
            state_for_people(row.state),
            human_size(row.added_bytes) if row.added_bytes is not None else "-",
            human_size(row.total_bytes) if row.total_bytes is not None else "-",
            users or "-",
        )
    console.print(table)


@app.command(
    "prune",
    help=_(
        "Apply [backup] keep_hourly/daily/weekly/monthly; shows the plan and asks first. The "
        "newest complete snapshot is never removed."
    ),
    short_help=_("Remove what retention no longer keeps."),
)
def prune(ctx: typer.Context) -> None:
    """Apply the [backup] retention after showing the plan."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.backup.prune import plan_prune, planned_changes
    from datakeeper.features.backup.prune import prune as run_prune

    require_root("backup prune")
    options = global_options(ctx)
    ask = not (options.dry_run or options.assume_yes)
    if ask and (options.json_output or not sys.stdin.isatty()):
        raise InvalidInputError(
            _("backup prune deletes snapshots and there is no terminal to ask: "
              "pass --yes or --dry-run")
        )  # fmt: skip
    cfg = site_config(ctx)
    plan = plan_prune(cfg)
    if ask:
        console = stdout_console()
        changes = planned_changes(plan)
        for change in changes:
            console.print(change_line(change.summary, "planned", worded=True), markup=False)
        if not changes:
            console.print(_("Nothing to remove."))
            return
        if not typer.confirm(_("Remove them?"), default=False):
            raise typer.Exit(1)
    printer = change_printer(options.json_output)
    outcome = run_prune(cfg, plan, dry_run=options.dry_run, on_change=printer)
    data = {**outcome.as_dict(), "kept": plan.kept}
    emit(data, json_output=options.json_output, render=lambda c: _render_pruned(c, outcome))
    if not outcome.ok:
        raise typer.Exit(1)


def _render_pruned(console, outcome) -> None:
    for resource, error in outcome.failed:
        console.print(f"  ! {printable(resource)}: {printable(str(error))}", markup=False)
    if not outcome.planned:
        console.print(_("Nothing to remove."))
    elif outcome.dry_run:
        console.print(_("Dry run: nothing was removed."))


@app.command(
    "verify",
    help=_("Report missing, changed and extra files; exit code 1 when there are any."),
    short_help=_("Re-hash a snapshot against its manifest."),
)
def verify(
    ctx: typer.Context,
    snapshot: Annotated[
        Optional[str],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Argument(help=_("Snapshot name or unique prefix [default: the newest complete].")),
    ] = None,
) -> None:
    """Report missing, changed and extra files; exit code 1 when there are any."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.backup.verify import verify_snapshot

    require_root("backup verify")
    verdict = verify_snapshot(site_config(ctx), snapshot)
    json_output = global_options(ctx).json_output
    emit(verdict.as_dict(), json_output=json_output, render=lambda c: _render_verdict(c, verdict))
    if not verdict.ok:
        raise typer.Exit(1)


def _render_verdict(console, verdict) -> None:
    for line in verdict.lines():
        console.print(line, markup=False)


@app.command(
    "restore",
    help=_(
        "Restore PATH from a snapshot (default: beside it, as NAME.restored-<snapshot>); with "
        "--everything, the whole site after losing /data. --from takes a snapshot name or a date "
        "(the newest complete snapshot at or before it)."
    ),
    short_help=_("Restore from a snapshot (--everything: the whole site)."),
)
def restore(
    ctx: typer.Context,
    path: Annotated[
        Optional[Path],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Argument(help=_("File or folder to restore (as a member: in your home).")),
    ] = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--everything",
            help=_(
                "Disaster recovery on an empty data disk: config, registry, every backed-up "
                "folder, then recover."
            ),
        ),
    ] = False,
    source: Annotated[
        Optional[str],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option(
            "--from", help=_("Snapshot name, date or unique prefix [default: the newest].")
        ),
    ] = None,
    into: Annotated[
        Optional[Path],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option("--into", help=_("Restore into this folder (admin) [default: beside it].")),
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help=_("Put it back where it was."))
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help=_("Replace what is there (asked first)."))
    ] = False,
) -> None:
    """Restore PATH from a snapshot, or the whole site with --everything."""
    if everything:
        backup_disaster_cmd.restore_everything(ctx, source)
        return
    if path is None:
        raise InvalidInputError(_("say what to restore: a PATH, or --everything"))
    backup_restore_cmd.restore_path(ctx, path, source, into, in_place, overwrite)


@app.command(
    "browse",
    help=_("List what PATH held in a snapshot: any path as root, your own files as a member."),
    short_help=_("List a folder as a snapshot holds it."),
)
def browse(
    ctx: typer.Context,
    path: Annotated[
        Optional[Path],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Argument(help=_("Folder or file [default: your home; as root: the users folder].")),
    ] = None,
    source: Annotated[
        Optional[str],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option("--from", help=_("Snapshot name or date [default: the newest].")),
    ] = None,
) -> None:
    """List what PATH held in a snapshot: any path as root, your own files as a member."""
    backup_restore_cmd.browse(ctx, path, source)


# The schedule: its commands live in backup_schedule_cmd.py (this module stays small).
app.command(
    "enable",
    help=_(
        "Take a snapshot on [backup] schedule (default nightly at 02:30): a systemd timer, or cron "
        "without systemd. It comes back after a wipe (recover)."
    ),
    short_help=_("Take snapshots on a schedule (timer or cron)."),
)(backup_schedule_cmd.enable)
app.command(
    "disable",
    help=_("Stop the scheduled snapshots and remove the timer (or cron file)."),
    short_help=_("Stop the scheduled snapshots."),
)(backup_schedule_cmd.disable)
app.command(
    "status",
    help=_("The schedule, the next run, the last run and the last error."),
    short_help=_("Schedule, next run, last run and last error."),
)(backup_schedule_cmd.status)
