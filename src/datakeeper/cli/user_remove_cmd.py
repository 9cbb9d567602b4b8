"""``datakeeper user remove NAME``: show, confirm, then offboard (data kept by default).

Registered by ``user_cmd``: ``app.command("remove")(user_remove_cmd.remove)``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from datakeeper.cli.common import change_printer, site_config
from datakeeper.cli.options import global_options
from datakeeper.sizes import human_size

if TYPE_CHECKING:
    from rich.console import Console

    from datakeeper.features.users.remove.removal import (
        RemovalPreview,
        RemovalReport,
        RemoveRequest,
    )

PURGE_WORD = "DELETE"


def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account to remove.")],
    archive: Annotated[
        bool, typer.Option("--archive", help="Move their data to <backup_root>/archive/NAME-DATE.")
    ] = False,
    purge: Annotated[
        bool, typer.Option("--purge", help="Delete their data (asks a second time).")
    ] = False,
    kill_sessions: Annotated[
        bool, typer.Option("--kill-sessions", help="End their sessions and processes first.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for the name.")] = False,
    yes_delete_data: Annotated[
        bool,
        typer.Option(
            "--yes-delete-data", help="With --purge and no terminal: the second confirmation."
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
) -> None:
    """Remove an account: registry entry, home link, account, crontab and at jobs.

    Their data in the persistent home is KEPT (owned by the old uid) unless
    --archive moves it under the backup root or --purge deletes it.
    Refuses while they are logged in or run processes, unless --kill-sessions.
    """
    from datakeeper.engine.session import require_root
    from datakeeper.features.users.remove.removal import preview_removal, remove_user

    options = global_options(ctx)
    dry_run = dry_run or options.dry_run
    assume_yes = yes or options.assume_yes
    interactive = sys.stdin.isatty() and not assume_yes
    request = _request(name, archive, purge, kill_sessions, yes_delete_data)
    _check_can_confirm(request, dry_run, assume_yes, yes_delete_data)
    require_root("user remove")
    cfg = site_config(ctx)
    preview = preview_removal(cfg, request)
    _show_preview(preview, request, options.json_output, interactive)
    request = _settle_sessions(preview, request, interactive and not dry_run)
    if not dry_run:
        _confirm(preview, request, interactive, yes_delete_data)
    printer = change_printer(options.json_output)
    report = remove_user(cfg, request, preview, dry_run=dry_run, on_change=printer)
    _finish(report, options.json_output)


def _request(name, archive, purge, kill_sessions, yes_delete_data) -> RemoveRequest:
    from datakeeper.errors import InvalidInputError
    from datakeeper.features.users.remove.removal import RemoveRequest
    from datakeeper.i18n import _

    if archive and purge:
        raise InvalidInputError(_("--archive and --purge exclude each other; choose one"))
    if yes_delete_data and not purge:
        raise InvalidInputError(_("--yes-delete-data only goes with --purge"))
    data = "archive" if archive else "purge" if purge else "keep"
    return RemoveRequest(name, data, kill_sessions)


def _check_can_confirm(request, dry_run: bool, assume_yes: bool, yes_delete_data: bool) -> None:
    """Without a terminal, every confirmation must be given as a flag."""
    from datakeeper.errors import InvalidInputError
    from datakeeper.i18n import _

    if dry_run or sys.stdin.isatty():
        return
    if not assume_yes:
        raise InvalidInputError(
            _("user remove needs a confirmation and there is no terminal to ask: pass --yes")
        )
    if request.data == "purge" and not yes_delete_data:
        raise InvalidInputError(
            _("--purge deletes data for good; without a terminal pass --yes-delete-data as well")
        )


def _settle_sessions(preview, request, can_ask: bool) -> RemoveRequest:
    """Logged in and no --kill-sessions: ask (terminal) or refuse."""
    from datakeeper.features.users.remove.removal import check_not_busy
    from datakeeper.i18n import _

    if preview.busy and not request.kill_sessions and can_ask:
        question = _("End {name}'s sessions and processes now?").format(name=request.name)
        if typer.confirm(question, default=False, err=True):
            return replace(request, kill_sessions=True)
    check_not_busy(preview, request)
    return request


def _confirm(preview, request, interactive: bool, yes_delete_data: bool) -> None:
    """Type the name (unless --yes); for --purge also type DELETE (unless --yes-delete-data)."""
    from datakeeper.errors import InvalidInputError
    from datakeeper.i18n import _

    if interactive:
        typed = typer.prompt(_("Type the user name to confirm"), err=True)
        if typed.strip() != request.name:
            raise InvalidInputError(_("confirmation did not match; nothing was changed"))
    if request.data != "purge" or yes_delete_data or preview.home.kind != "directory":
        return
    if not sys.stdin.isatty():
        raise InvalidInputError(_("--purge without a terminal needs --yes-delete-data"))
    question = _("This deletes {path} for good. Type {word} to confirm").format(
        path=preview.home.path, word=PURGE_WORD
    )
    if typer.prompt(question, err=True).strip() != PURGE_WORD:
        raise InvalidInputError(_("data deletion not confirmed; nothing was changed"))


def _show_preview(preview, request, json_output: bool, interactive: bool) -> None:
    """People see the preview on stdout; with --json only when they are asked (stderr)."""
    from datakeeper.cli.output import stderr_console, stdout_console

    if json_output and not interactive:
        return
    console = stderr_console() if json_output else stdout_console()
    for line in preview_lines(preview, request):
        console.print(line, markup=False)


def preview_lines(preview: RemovalPreview, request: RemoveRequest) -> list[str]:
    """The preview as lines of text."""
    from datakeeper.i18n import _

    target, home = preview.target, preview.home
    lines = [
        _("Remove {name} (uid {uid}, gid {gid}{gone})").format(
            name=target.name,
            uid=target.uid,
            gid=target.gid,
            gone="" if target.account else _(", account already gone"),
        ),
        _("  groups:     {groups}").format(groups=", ".join(preview.groups) or "-"),
        _("  data:       {data}").format(data=_describe_home(home)),
        _("  home link:  {link}").format(link=_describe_link(preview.link)),
        _("  sessions:   {s}").format(s=_sessions(preview) or _("none")),
        _("  processes:  {p}").format(p=_processes(preview) or _("none")),
    ]
    return [*lines, _("  their data: {fate}").format(fate=_fate(preview, request))]


def _describe_home(home) -> str:
    from datakeeper.i18n import _

    if home.kind != "directory" or home.usage is None:
        return _("{path} ({kind})").format(path=home.path, kind=home.kind)
    usage = home.usage
    return _("{path}: {size} allocated, {files} files, {dirs} directories").format(
        path=home.path, size=human_size(usage.allocated_bytes), files=usage.files,
        dirs=usage.directories,
    )  # fmt: skip


def _describe_link(link: dict) -> str:
    from datakeeper.i18n import _

    if link["kind"] == "link":
        return f"{link['path']} -> {link['target']}"
    if link["kind"] == "foreign link":
        return _("{path} -> {target} (points elsewhere: left as it is)").format(**link)
    if link["kind"] == "missing":
        return _("{path} (none)").format(**link)
    return _("{path} is a real {kind}: left as it is").format(**link)


def _sessions(preview) -> str:
    return ", ".join(f"{s.terminal or '?'} {s.host}".strip() for s in preview.sessions)


def _processes(preview) -> str:
    shown = ", ".join(f"{p.pid} {p.name}" for p in preview.processes[:8])
    more = len(preview.processes) - 8
    return shown + (f" (+{more})" if more > 0 else "")


def _fate(preview, request) -> str:
    from datakeeper.i18n import _

    if preview.home.kind == "missing":
        return _("none at {path}").format(path=preview.home.path)
    if request.data == "archive":
        return _("ARCHIVED to {dest} (root only)").format(dest=preview.archive_to)
    if request.data == "purge":
        return _("DELETED for good")
    return _("kept at {path}, owned by the old uid {uid}").format(
        path=preview.home.path, uid=preview.target.uid
    )


def _finish(report: RemovalReport, json_output: bool) -> None:
    from datakeeper.cli.output import emit
    from datakeeper.i18n import _

    def render(console: Console) -> None:
        if report.dry_run:
            console.print(
                _("Dry run: {n} change(s) planned, nothing changed.").format(n=len(report.planned))
            )
            return
        where = report.data_location
        if report.data_action == "purge" and report.preview.home.kind == "directory":
            tail = _("their data was deleted")
        elif where is None:
            tail = _("they had no persistent data")
        else:
            tail = _("their data is at {where}").format(where=where)
        console.print(
            _("{name} removed ({n} change(s)); {tail}.").format(
                name=report.preview.target.name, n=len(report.applied), tail=tail
            ),
            markup=False,
        )

    emit(report.as_dict(), json_output=json_output, render=render)
