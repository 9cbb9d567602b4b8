"""``datakeeper disk``: usage of the storage roots, shared folders and homes; ``disk alert``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from datakeeper.cli.common import change_printer, print_outcome_summary, site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table, stderr_console
from datakeeper.i18n import _, ngettext
from datakeeper.sizes import human_size
from datakeeper.text import printable

# The disk features (usage ~20 ms, alert and schedule ~0.12 s with the config and the
# engine), rich.table (~12 ms) and rich.progress (~37 ms) are imported inside the
# functions that use them: at the top they would slow every start-up, `datakeeper
# --help` included (measured with `python3 -X importtime`).

# No help= here: the callbacks' docstrings are the help of "disk" and "disk alert".
app = typer.Typer(invoke_without_command=True)
alert_app = typer.Typer(invoke_without_command=True)
app.add_typer(alert_app, name="alert", short_help=_("Alert when a disk fills up."))


@app.callback(
    help=_(
        "Disk usage: each storage root, then the shared folders and the homes, largest first.\n\n"
        "For each storage root: size, used, free space and use%. Folder sizes are disk space "
        "allocated (st_blocks * 512, as du counts them), not file lengths; hard-linked files count "
        "once; symlinks are not followed and other filesystems mounted below are skipped (like du "
        "-x). Root sees every home; others see the shared folders and their own home."
    )
)
def disk(
    ctx: typer.Context,
    by_owner: Annotated[
        bool, typer.Option("--by-owner", help=_("Split shared folders by the owners of the files."))
    ] = False,
    quota: Annotated[
        bool,
        typer.Option("--quota", help=_("Per-user totals from quota accounting (instant; root).")),
    ] = False,
    jobs: Annotated[
        Optional[int],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option(
            "--jobs", "-j", min=1, help=_("Folders scanned at once [one per CPU, max 8].")
        ),
    ] = None,
) -> None:
    """Disk usage: each storage root, then the shared folders and the homes, largest first."""
    if ctx.invoked_subcommand is not None:
        return
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.disk.usage import disk_report

    cfg = site_config(ctx, missing_ok=True)
    json_output = global_options(ctx).json_output
    with _ScanDisplay(enabled=not json_output and sys.stderr.isatty()) as display:
        report = disk_report(
            cfg,
            by_owner=by_owner,
            use_quota=quota,
            jobs=jobs,
            listener=display,
        )
    emit(report.as_dict(), json_output=json_output, render=lambda c: _render(c, report))


class _ScanDisplay:
    """A progress line on stderr while scanning (a ``ScanListener``). Rich draws from a
    thread, so it starts only once the scanner has forked its workers."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.task = None

    def __enter__(self) -> _ScanDisplay:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def started(self, trees: int) -> None:
        if not self.enabled:
            return
        # Imported here, when the command runs: start-up cost (see the note at the top).
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn(_("{task.completed}/{task.total} folders")),
            TextColumn("{task.fields[entries]}"),
            console=stderr_console(),
            transient=True,
        )
        self.task = self.bar.add_task(_("Scanning"), total=trees, entries="")
        self.bar.start()

    def scanning(self, top: Path, entries: int) -> None:
        if self.bar is not None:
            text = ngettext("{n:,} entry in {top}", "{n:,} entries in {top}", entries).format(
                n=entries, top=printable(top)
            )
            self.bar.update(self.task, entries=text)

    def finished(self, scan) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)


def _render(console, report) -> None:
    roots = new_table(console, _("storage"), _("size"), _("used"), _("free"), _("use%"))
    for r in report.roots:
        if not r.exists:
            roots.add_row(printable(r.root), _("missing"), "", "", "")
            continue
        figures = (human_size(r.total), human_size(r.used), human_size(r.free))
        roots.add_row(printable(r.root), *figures, f"{r.percent:.1f}%")
    console.print(roots)
    _render_folders(console, _("shared folder"), report.shared)
    if report.source == "quota":
        quota = new_table(console, _("filesystem"), _("user"), _("size"), _("files"))
        for q in report.quota:
            quota.add_row(printable(q.root), q.user, human_size(q.bytes), str(q.files))
        console.print(quota)
    else:
        _render_folders(console, _("home"), report.homes)
    if any(f.owners for f in report.shared):
        owners = new_table(console, _("shared folder"), _("owner"), _("size"))
        for f in report.shared:
            for user, size in (f.owners or {}).items():
                owners.add_row(printable(f.path), printable(user), human_size(size))
        console.print(owners)
    _render_notes(console, report)


def _render_folders(console, title: str, folders) -> None:
    if not folders:
        return
    table = new_table(console, title, _("size"), _("entries"))
    for f in folders:
        # Folder names below a storage root may be chosen by members: shown escaped.
        name = printable(f"{f.path} ({f.user})" if f.user else f.path)
        table.add_row(name, human_size(f.bytes), f"{f.entries:,}")
    console.print(table)


def _render_notes(console, report) -> None:
    console.print(_("Sizes are disk space allocated (as du counts it), not file lengths."))
    if report.errors:
        console.print(
            ngettext(
                "{n} folder or file could not be read; the totals leave it out: {e}",
                "{n} folders or files could not be read; the totals leave them out: {e}",
                report.errors,
            ).format(n=report.errors, e="; ".join(map(printable, report.error_samples))),
            markup=False,
        )
    if report.skipped_mounts:
        console.print(
            _("Other filesystems mounted inside were not counted: {paths}").format(
                paths=", ".join(map(printable, report.skipped_mounts))
            ),
            markup=False,
        )
    for note in report.notes:
        console.print(printable(note), markup=False)


@alert_app.callback(
    help=_(
        "Check every storage root; at or above the threshold, log it (action log and syslog), run "
        "the hook from the config and exit 1. --dry-run prints instead.\n\n"
        "The hook gets DATAKEEPER_ALERT_ROOT, _PERCENT, _USED_BYTES, _TOTAL_BYTES and _THRESHOLD "
        "in its environment. Subcommands schedule the check hourly."
    )
)
def alert(
    ctx: typer.Context,
    threshold: Annotated[
        Optional[int],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option(
            "--threshold", min=1, max=99, help=_("Percent [alert.threshold_percent, default 80].")
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help=_("Print nothing unless a root fires."))
    ] = False,
) -> None:
    """Check every storage root against the alert threshold."""
    if ctx.invoked_subcommand is not None:
        return
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.disk.alert import run_alert

    options = global_options(ctx)
    cfg = site_config(ctx, missing_ok=True)
    outcome = run_alert(cfg, threshold=threshold, dry_run=options.dry_run)
    json_output = options.json_output
    if not (quiet and not outcome.fired and not json_output):
        emit(outcome.as_dict(), json_output=json_output, render=lambda c: _render_alert(c, outcome))
    if outcome.fired:
        raise typer.Exit(1)


def _render_alert(console, outcome) -> None:
    for check in outcome.checks:
        mark = "!" if check.fires else "✓"
        console.print(f"{mark} {check.sentence()}", markup=False)
    for line in outcome.actions:
        console.print(f"  {line}", markup=False)
    for line in outcome.problems:
        print(f"  {printable(line)}", file=sys.stderr)  # may quote the hook's output


@alert_app.command(
    "enable",
    help=_(
        "Run the alert every hour (alert.interval): a systemd timer, or a cron entry "
        "(/etc/cron.d/datakeeper-disk-alert) where systemd is not running."
    ),
    short_help=_("Run the alert every hour."),
)
def enable(ctx: typer.Context) -> None:
    """Run the alert every hour: a systemd timer, or a cron entry."""
    # Imported when the command runs: the config and the engine would slow every start-up.
    from datakeeper.config import resolve_config_path
    from datakeeper.engine.session import require_root
    from datakeeper.features.disk.schedule import enable_schedule

    options = global_options(ctx)
    cfg = site_config(ctx)
    require_root("disk alert enable")
    path = resolve_config_path(options.config_path).resolve()
    outcome = enable_schedule(
        cfg,
        path,
        dry_run=options.dry_run,
        on_change=change_printer(options.json_output),
    )
    print_outcome_summary(outcome, json_output=options.json_output)


@alert_app.command(
    "disable",
    help=_("Stop the scheduled alert and remove the files ``enable`` wrote."),
    short_help=_("Stop the scheduled alert."),
)
def disable(ctx: typer.Context) -> None:
    """Stop the scheduled alert and remove the files ``enable`` wrote."""
    # Imported when the command runs: the engine would slow every start-up.
    from datakeeper.engine.session import require_root
    from datakeeper.features.disk.schedule import disable_schedule

    options = global_options(ctx)
    cfg = site_config(ctx)
    require_root("disk alert disable")
    outcome = disable_schedule(
        cfg, dry_run=options.dry_run, on_change=change_printer(options.json_output)
    )
    print_outcome_summary(outcome, json_output=options.json_output)


@alert_app.command(
    "status",
    help=_("Whether the alert is scheduled, how, and with which command."),
    short_help=_("Whether and how the alert runs."),
)
def status(ctx: typer.Context) -> None:
    """Whether the alert is scheduled, how, and with which command."""
    # Imported when the command runs: the config and the features would slow every start-up.
    from datakeeper.config import resolve_config_path
    from datakeeper.features.disk.schedule import schedule_status

    options = global_options(ctx)
    cfg = site_config(ctx, missing_ok=True)
    path = resolve_config_path(options.config_path).resolve()
    found = schedule_status(cfg, path)
    emit(
        found.as_dict(),
        json_output=options.json_output,
        render=lambda c: _status(c, found),
    )


def _status(console, found) -> None:
    state = _("enabled") if found.enabled else _("not enabled")
    console.print(
        _("Disk alert: {state} ({mechanism}, {interval}, threshold {threshold}%)").format(
            state=state,
            mechanism=found.mechanism,
            interval=found.interval,
            threshold=found.threshold,
        ),
        markup=False,
    )
    for f in found.files:
        if f.present:
            mark = "✓" if f.current else _("differs from what enable writes")
            console.print(f"  {f.path}  {mark}", markup=False)
    if found.timer is not None:
        console.print(
            _("  timer: {enabled}, {active}").format(**found.timer.as_dict()),
            markup=False,
        )
