"""``datakeeper user migrate NAME --to hybrid|link``, ``--all``, ``--rollback``.

Registered by ``user_cmd``: ``app.command("migrate")(user_migrate_cmd.migrate)``.
Shows the plan (every file that moves), asks on a terminal (never without
one: there ``--yes`` is required, so a script is refused at once instead of
blocking), then calls ``features.users.migrate.run``; a failed verify exits 1.
Features are imported inside the functions: importing them costs start-up
time that every other command would pay (as ``user_remove_cmd`` measured).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from datakeeper.cli.common import change_printer, site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, stderr_console, stdout_console
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _, ngettext
from datakeeper.text import printable

if TYPE_CHECKING:
    from rich.console import Console

    from datakeeper.features.users.migrate.run import MigrationReport

Opt = Optional  # Typer on Python 3.10 needs Optional[...] rather than X | None


def migrate(
    ctx: typer.Context,
    name: Annotated[Opt[str], typer.Argument(help=_("Account whose home moves."))] = None,
    to: Annotated[
        Opt[str], typer.Option("--to", metavar="hybrid|link", help=_("The layout to move to."))
    ] = None,
    all_users: Annotated[
        bool, typer.Option("--all", help=_("Every registered user, one at a time."))
    ] = False,
    rollback: Annotated[
        bool, typer.Option("--rollback", help=_("Return to the layout before the migration."))
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help=_("Even while the user runs processes."))
    ] = False,
) -> None:
    """Move homes between the link and hybrid layouts, verified, with a journal."""
    from datakeeper.engine.session import require_root  # start-up cost: see the module

    options = global_options(ctx)
    _check_usage(name, to, all_users, rollback)
    if not (options.dry_run or options.assume_yes or sys.stdin.isatty()):
        raise InvalidInputError(
            _("user migrate needs a confirmation and there is no terminal to ask: pass --yes")
        )
    require_root("user migrate")
    cfg = site_config(ctx)
    ask = sys.stdin.isatty() and not options.assume_yes and not options.dry_run
    if all_users:
        reports = _migrate_all(cfg, to or "", options, force, ask)
    elif rollback:
        reports = [_rollback(cfg, name or "", options, force, ask)]
    else:
        reports = [_migrate_one(cfg, name or "", to or "", options, force, ask)]
    _finish(reports, options.json_output, all_users)


def _check_usage(name: str | None, to: str | None, all_users: bool, rollback: bool) -> None:
    if all_users == (name is not None):
        raise InvalidInputError(_("give a user name or --all, not both"))
    if rollback and (all_users or to is not None):
        raise InvalidInputError(_("--rollback takes a user name only (no --to, no --all)"))
    if not rollback and to not in ("hybrid", "link"):
        raise InvalidInputError(_("--to: choose hybrid or link"))


def _migrate_one(cfg, name: str, to: str, options, force: bool, ask: bool) -> MigrationReport:
    from datakeeper.features.users.migrate.plan import MigrateRequest, prepare
    from datakeeper.features.users.migrate.run import migrate_user

    request = MigrateRequest(name, to, force)
    plan = prepare(cfg, request)
    console = _console(options.json_output)
    if plan is not None:
        _show(console, plan.lines())
        if ask:
            _confirm(_("Move {name}'s home to the {layout} layout?").format(name=name, layout=to))
    printer = change_printer(options.json_output)
    return migrate_user(cfg, request, dry_run=options.dry_run, on_change=printer, confirmed=plan)


def _rollback(cfg, name: str, options, force: bool, ask: bool) -> MigrationReport:
    from datakeeper.features.users.migrate.journal import load_journal
    from datakeeper.features.users.migrate.run import rollback_user

    journal = load_journal(cfg, name)
    if journal is not None and ask:
        question = _("Return {name}'s home to the {layout} layout it had before?")
        _confirm(question.format(name=name, layout=journal.source))
    printer = change_printer(options.json_output)
    return rollback_user(cfg, name, dry_run=options.dry_run, force=force, on_change=printer)


def _migrate_all(cfg, to: str, options, force: bool, ask: bool) -> list[MigrationReport]:
    from datakeeper.features.users.migrate.run import migrate_all, registered_names

    names = registered_names(cfg)
    if ask:
        _confirm(
            ngettext(
                "Move the home of {n} registered user to the {layout} layout, one at a time?",
                "Move the homes of {n} registered users to the {layout} layout, one at a time?",
                len(names),
            ).format(n=len(names), layout=to)
        )
    printer = change_printer(options.json_output)
    return migrate_all(cfg, to, dry_run=options.dry_run, force=force, on_change=printer)


def _confirm(question: str) -> None:
    if not typer.confirm(question, default=False, err=True):
        raise InvalidInputError(_("not confirmed; nothing was changed"))


def _console(json_output: bool) -> Console:
    """People see the plan on stdout; with --json it goes to stderr."""
    return stderr_console() if json_output else stdout_console()


def _show(console: Console, lines: list[str]) -> None:
    for line in lines:
        console.print(printable(line), markup=False)  # file names the user chose: escaped


def _finish(reports: list[MigrationReport], json_output: bool, all_users: bool) -> None:
    failed = [r for r in reports if not r.ok]
    data = {
        "users": [r.as_dict() for r in reports],
        "failed": len(failed),
    }

    def render(console: Console) -> None:
        for report in reports:
            console.print(printable(report.done_line()), markup=False)
        if all_users:
            console.print(
                ngettext(
                    "{n} user, {failed} failed.", "{n} users, {failed} failed.", len(reports)
                ).format(n=len(reports), failed=len(failed))
            )

    emit(data if all_users else data["users"][0], json_output=json_output, render=render)
    if failed:
        raise typer.Exit(1)
