"""``datakeeper backup restore PATH`` and ``backup browse``: one path from a snapshot.

Called by ``cli/backup_cmd.py``. As root, the admin's restore and browse run
in-process (any path in a backed-up folder); as anyone else, a member's go
through the sudo helper (their own home only). Exit codes: 0 done; 1 the copy
failed; 2 no such snapshot or path, or a path outside your home; 3 refused
(the target exists without --overwrite, a storage root not mounted); 4 another
admin run holds the lock.
"""

from __future__ import annotations

import os
import pwd
import sys
from datetime import datetime
from pathlib import Path

import typer

from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _
from datakeeper.sizes import human_size
from datakeeper.status import change_line
from datakeeper.text import printable

# The features (pydantic through the config, the engine) are imported inside the
# functions: at the top they would slow every start-up, `datakeeper --help` included.


def restore_path(
    ctx: typer.Context,
    path: Path,
    source: str | None,
    into: Path | None,
    in_place: bool,
    overwrite: bool,
) -> None:
    """Restore ``path`` from snapshot ``source`` (default: the newest complete)."""
    if in_place and into is not None:
        raise InvalidInputError(_("--in-place and --into exclude each other; pick one"))
    if os.geteuid() != 0:
        _restore_as_member(ctx, path, source, into, in_place, overwrite)
        return
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.backup.restore import RestoreRequest, restore

    options = global_options(ctx)
    request = RestoreRequest(path, source, into, in_place, overwrite)
    cfg = site_config(ctx)
    if overwrite and not options.dry_run:
        _confirm_overwrite(cfg, request, options)
    outcome = restore(cfg, request, dry_run=options.dry_run)

    def render(console) -> None:
        for change in outcome.planned if outcome.dry_run else outcome.applied:
            state = "planned" if outcome.dry_run else "applied"
            console.print(change_line(change.summary, state, worded=True), markup=False)
        if outcome.dry_run:
            console.print(_("Dry run: nothing was copied."))

    emit(outcome.as_dict(), json_output=options.json_output, render=render)


def _confirm_overwrite(cfg, request, options) -> None:
    """Ask before replacing what is there (unless --yes); plans first, writes nothing."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.backup.restore import RestoreFromSnapshot

    job = RestoreFromSnapshot(cfg, request)
    if options.assume_yes or not os.path.lexists(job.destination):
        return
    if options.json_output or not sys.stdin.isatty():
        raise InvalidInputError(
            _("{path} exists and there is no terminal to ask: pass --yes").format(
                path=job.destination
            )
        )
    if not typer.confirm(_("Replace {path}?").format(path=job.destination), default=False):
        raise typer.Exit(1)


def _restore_as_member(ctx, path, source, into, in_place, overwrite) -> None:
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.backup.member import MemberRequest, ask_helper

    if into is not None:
        raise InvalidInputError(_("--into is for the admin; members restore beside or in place"))
    options = global_options(ctx)
    request = MemberRequest(path, source, in_place, overwrite, options.dry_run)
    said = ask_helper(site_config(ctx), "backup-restore", request)
    emit({"output": said}, json_output=options.json_output, render=lambda c: _print(c, said))


def browse(ctx: typer.Context, path: Path | None, source: str | None) -> None:
    """List a folder of a snapshot: any as root, your own home's as a member."""
    options = global_options(ctx)
    cfg = site_config(ctx)
    if os.geteuid() != 0:
        # Imported here, when the command runs: start-up cost (see the note at the top).
        from datakeeper.features.backup.member import MemberRequest, ask_helper

        said = ask_helper(cfg, "backup-browse", MemberRequest(path or Path.home(), source))
        emit({"output": said}, json_output=options.json_output, render=lambda c: _print(c, said))
        return
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.backup.browse import browse as browse_snapshot

    listing = browse_snapshot(cfg, path, source)
    emit(listing.as_dict(), json_output=options.json_output, render=lambda c: _table(c, listing))


def _print(console, text: str) -> None:
    """The helper's lines (it made every name printable already)."""
    for line in text.splitlines():
        console.print(line, markup=False, highlight=False)


def _table(console, listing) -> None:
    console.print(
        _("snapshot {name}: {path}").format(name=listing.snapshot, path=printable(listing.path)),
        markup=False,
    )
    table = new_table(console, _("size"), _("modified"), _("owner"), _("name"))
    for entry in listing.entries:
        name = printable(entry.name) + ("/" if entry.kind == "folder" else "")
        if entry.target is not None:
            name += " -> " + printable(entry.target)
        when = datetime.fromtimestamp(entry.mtime).strftime("%Y-%m-%d %H:%M")
        size = human_size(entry.size) if entry.kind == "file" else "-"
        table.add_row(size, when, _owner(entry.uid), name)
    console.print(table)


def _owner(uid: int) -> str:
    try:
        return printable(pwd.getpwuid(uid).pw_name)
    except KeyError:
        return str(uid)
