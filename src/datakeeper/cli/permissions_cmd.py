"""``datakeeper fix-permissions``: repair a user's home or the shared folders, safely."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from datakeeper.cli.common import change_printer, site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _
from datakeeper.text import printable

# The features, the engine, the walk and rich.table are imported inside the functions,
# when the command runs: importing them here would add ~0.1 s (measured with
# `python3 -X importtime`) to every start-up, `datakeeper --help` included.


def fix_permissions(
    ctx: typer.Context,
    user: Annotated[
        Optional[str],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option("--user", help=_("Repair this user's persistent home."), show_default=False),
    ] = None,
    shared: Annotated[
        bool, typer.Option("--shared", help=_("Repair the shared folders (caches, models, ...)."))
    ] = False,
    grant_write: Annotated[
        bool,
        typer.Option(
            "--grant-write",
            help=_(
                "With --shared: also give the group write on entries root does not own (each one "
                "is listed; by default write stays the owner's decision)."
            ),
        ),
    ] = False,
) -> None:
    """Repair owners, groups and modes: --user NAME (their home) or --shared."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.permissions import fix_permissions as run

    options = global_options(ctx)
    if (user is None) == (not shared):
        raise InvalidInputError(_("pass exactly one of --user NAME and --shared"))
    require_root("fix-permissions")
    cfg = site_config(ctx)
    printer = change_printer(options.json_output)
    dry_run = options.dry_run
    report = run(cfg, user=user, grant_write=grant_write, dry_run=dry_run, on_change=printer)
    emit(report.as_dict(), json_output=options.json_output, render=lambda c: _render(c, report))
    if report.failed:  # e.g. 3 when a tree's top was refused, 1 when entries were not changed
        raise typer.Exit(int(report.failed[0][1].exit_code))
    if not report.ok:
        raise typer.Exit(1)


def _render(console, report) -> None:
    from datakeeper.features.permissions import summary_line
    from datakeeper.system.safewalk import WalkReport

    for path, tree in report.trees:
        table = new_table(console, title=printable(path), show_header=False)
        for key in WalkReport.COUNTERS:
            if tree.counts[key]:
                table.add_row(_label(key, report.dry_run), str(tree.counts[key]))
        console.print(table)
        for problem in tree.problems:
            console.print(f"  ! {printable(problem)}", markup=False)  # names members chose
        for granted in tree.granted:  # each entry whose write access widens, by name
            console.print(f"  + g+w {printable(granted)}", markup=False)
    for _resource, error in report.failed:
        console.print(f"  ! {printable(str(error))}", markup=False)
    for note in report.notes:
        console.print(printable(note), markup=False)
    line = summary_line(report.totals)
    if report.dry_run:
        console.print(_("Dry run, nothing changed: {line}").format(line=line), markup=False)
    else:
        console.print(line, markup=False)


def _label(key: str, dry_run: bool) -> str:
    if dry_run and key.endswith(("changed", "granted")):
        key = f"would_{key}"
    labels = {
        "would_changed": _("would change"),
        "would_owner_changed": _("  owner"),
        "would_group_changed": _("  group"),
        "would_mode_changed": _("  mode"),
        "would_write_granted": _("  would get group write (listed below)"),
        "directories": _("directories"),
        "files": _("files"),
        "changed": _("changed"),
        "owner_changed": _("  owner changed"),
        "group_changed": _("  group changed"),
        "mode_changed": _("  mode changed"),
        "write_granted": _("  got group write (listed below)"),
        "symlinks": _("symlinks (left alone)"),
        "hard_links": _("files with several hard links (left alone)"),
        "special_files": _("FIFOs, sockets, devices (left alone)"),
        "other_filesystems": _("other filesystems (not entered)"),
        "excluded": _("folders that are not shared (not entered)"),
        "changed_during_walk": _("changed while we looked (left alone)"),
        "too_deep": _("too deep (not entered)"),
        "errors": _("could not be changed"),
    }
    return labels[key]
