"""``datakeeper user remove NAME``: show, confirm, then offboard (data kept by default).

Registered by ``user_cmd``: ``app.command("remove")(user_remove_cmd.remove)``.
The preview, the plan shown before asking and the closing sentence are the
features' (``features.users.remove``); this module only asks and prints.
Features are imported inside the functions: importing them costs ~150 ms
(measured with ``-X importtime``) that every other command would pay at start-up.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from datakeeper.cli.common import change_printer, site_config
from datakeeper.cli.options import global_options
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _, ngettext
from datakeeper.text import printable

if TYPE_CHECKING:
    from rich.console import Console

    from datakeeper.features.users.remove.preview import RemovalPreview
    from datakeeper.features.users.remove.removal import RemovalReport
    from datakeeper.features.users.remove.request import RemoveRequest

PURGE_WORD = "DELETE"


def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=_("Account to remove."))],
    archive: Annotated[
        bool,
        typer.Option("--archive", help=_("Move their data to <backup_root>/archive/NAME-DATE.")),
    ] = False,
    purge: Annotated[
        bool, typer.Option("--purge", help=_("Delete their data (asks a second time)."))
    ] = False,
    kill_sessions: Annotated[
        bool, typer.Option("--kill-sessions", help=_("End their sessions and processes first."))
    ] = False,
    yes_delete_data: Annotated[
        bool,
        typer.Option(
            "--yes-delete-data", help=_("With --purge and no terminal: the second confirmation.")
        ),
    ] = False,
) -> None:
    """Remove an account: registry entry, home link, account, crontab and at jobs."""
    from datakeeper.engine.session import require_root  # start-up cost: see the module
    from datakeeper.features.users.remove.preview import preview_removal
    from datakeeper.features.users.remove.removal import remove_user

    options = global_options(ctx)
    dry_run = options.dry_run
    assume_yes = options.assume_yes
    interactive = sys.stdin.isatty() and not assume_yes
    request = _request(name, archive, purge, kill_sessions, yes_delete_data)
    _check_can_confirm(request, dry_run, assume_yes, yes_delete_data)
    require_root("user remove")
    cfg = site_config(ctx)
    preview = preview_removal(cfg, request)
    asks_delete = _asks_delete(preview, request, yes_delete_data)
    console = _preview_console(options.json_output, interactive or asks_delete)
    _show(console, preview.lines())
    request = _settle_sessions(preview, request, interactive and not dry_run)
    if not dry_run:
        if interactive or asks_delete:
            _show_plan(console, cfg, request, preview)
        _confirm(preview, request, interactive, asks_delete)
    printer = change_printer(options.json_output)
    report = remove_user(cfg, request, preview, dry_run=dry_run, on_change=printer)
    _finish(report, options.json_output)


def _request(name, archive, purge, kill_sessions, yes_delete_data) -> RemoveRequest:
    from datakeeper.features.users.remove.request import RemoveRequest  # start-up cost

    if archive and purge:
        raise InvalidInputError(_("--archive and --purge exclude each other; choose one"))
    if yes_delete_data and not purge:
        raise InvalidInputError(_("--yes-delete-data only goes with --purge"))
    data = "archive" if archive else "purge" if purge else "keep"
    return RemoveRequest(name, data, kill_sessions)


def _check_can_confirm(request, dry_run: bool, assume_yes: bool, yes_delete_data: bool) -> None:
    """Without a terminal, every confirmation must be given as a flag."""
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


def _settle_sessions(
    preview: RemovalPreview, request: RemoveRequest, can_ask: bool
) -> RemoveRequest:
    """Logged in and no --kill-sessions: ask (terminal) or refuse."""
    from datakeeper.features.users.remove.preview import check_not_busy  # start-up cost

    if preview.busy and not request.kill_sessions and can_ask:
        question = _("End {name}'s sessions and processes now?").format(name=request.name)
        if typer.confirm(question, default=False, err=True):
            return replace(request, kill_sessions=True)
    check_not_busy(preview, request)
    return request


def _asks_delete(preview: RemovalPreview, request: RemoveRequest, yes_delete_data: bool) -> bool:
    """Whether a purge still needs DELETE typed (a real home, no --yes-delete-data)."""
    return request.data == "purge" and not yes_delete_data and preview.home.kind == "directory"


def _show_plan(
    console: Console | None, cfg, request: RemoveRequest, preview: RemovalPreview
) -> None:
    """Before asking: every change the engine will make (its dry run of this removal)."""
    from datakeeper.features.users.remove.plan import plan_removal  # start-up cost

    _show(console, plan_removal(cfg, request, preview).change_lines())


def _confirm(
    preview: RemovalPreview, request: RemoveRequest, interactive: bool, asks_delete: bool
) -> None:
    """Type the name (unless --yes); for --purge also type DELETE (unless --yes-delete-data)."""
    if interactive:
        typed = typer.prompt(_("Type the user name to confirm"), err=True)
        if typed.strip() != request.name:
            raise InvalidInputError(_("confirmation did not match; nothing was changed"))
    if not asks_delete:
        return
    if not sys.stdin.isatty():
        raise InvalidInputError(_("--purge without a terminal needs --yes-delete-data"))
    question = _("This deletes {path} for good. Type {word} to confirm").format(
        path=printable(preview.home.path), word=PURGE_WORD
    )
    if typer.prompt(question, err=True).strip() != PURGE_WORD:
        raise InvalidInputError(_("data deletion not confirmed; nothing was changed"))


def _preview_console(json_output: bool, asked: bool) -> Console | None:
    """People see the preview on stdout; with --json only when they are asked (stderr)."""
    from datakeeper.cli.output import stderr_console, stdout_console

    if json_output and not asked:
        return None
    return stderr_console() if json_output else stdout_console()


def _show(console: Console | None, lines: list[str]) -> None:
    if console is None:
        return
    for line in lines:
        # One line each, quoting names the user chose (files, process names): escaped.
        console.print(printable(line), markup=False)


def _finish(report: RemovalReport, json_output: bool) -> None:
    from datakeeper.cli.output import emit

    def render(console: Console) -> None:
        if report.dry_run:
            console.print(
                ngettext(
                    "Dry run: {n} change planned, nothing changed.",
                    "Dry run: {n} changes planned, nothing changed.",
                    len(report.planned),
                ).format(n=len(report.planned))
            )
            return
        console.print(printable(report.done_line()), markup=False)

    emit(report.as_dict(), json_output=json_output, render=render)
