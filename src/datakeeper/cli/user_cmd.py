"""``datakeeper user``: add, list, show, set, register, unregister (remove lives apart)."""

from __future__ import annotations

import os
import pwd
import sys
from functools import partial
from pathlib import Path
from typing import Annotated, Optional

import typer

from datakeeper.cells import padded
from datakeeper.cli.common import (
    change_printer,
    print_outcome_summary,
    print_warning,
    site_config,
)
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table, people_value
from datakeeper.i18n import N_, _, ngettext

app = typer.Typer(help=_("Add, inspect and change researchers' accounts."), no_args_is_help=True)

Opt = Optional  # Typer on Python 3.10 needs Optional[...] rather than X | None
AllowPrivileged = Annotated[
    Opt[list[str]],
    typer.Option(
        "--allow-privileged-group",
        metavar="GROUP",
        help=_("Allow this root-equivalent group (sudo, docker …); repeat for each."),
    ),
]


@app.command(
    "add",
    help=_("Create an account with a persistent home, keys and dotfiles, and register it."),
    short_help=_("Create an account with a persistent home."),
)
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=_("Account name (lowercase)."))],
    groups: Annotated[Opt[str], typer.Option(help=_("Extra groups, comma-separated."))] = None,
    shell: Annotated[Opt[str], typer.Option(help=_("bash or zsh [config default]."))] = None,
    full_name: Annotated[str, typer.Option("--full-name", help=_("GECOS full name."))] = "",
    ssh_key: Annotated[
        Opt[Path], typer.Option("--ssh-key", help=_("Public key file ('-' reads standard input)."))
    ] = None,
    generate_key: Annotated[
        Opt[str],
        typer.Option("--generate-key", help=_("Generate a key pair: ed25519, rsa, ecdsa.")),
    ] = None,
    print_private_key: Annotated[
        bool, typer.Option(help=_("Print the generated private key once instead of storing it."))
    ] = False,
    temp_password: Annotated[
        bool, typer.Option(help=_("Set a temporary password to change at first login."))
    ] = False,
    adopt_home: Annotated[
        bool, typer.Option(help=_("Give the account the uid of an existing /data/users/NAME."))
    ] = False,
    env_only: Annotated[
        bool, typer.Option(help=_("The account exists: set up its environment only."))
    ] = False,
    host: Annotated[Opt[str], typer.Option(help=_("Server address for the handout."))] = None,
    allow_privileged_group: AllowPrivileged = None,
    layout: Annotated[
        Opt[str],
        typer.Option(
            metavar="link|hybrid",
            help=_(
                "Home layout: link (all on the data disk) or hybrid (home on the SSD, ~/data and "
                "dotfiles linked) [config: home.layout]."
            ),
        ),
    ] = None,
) -> None:
    """Create an account with a persistent home, keys and dotfiles, and register it."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~0.1 s).
    from datakeeper.engine.session import require_root
    from datakeeper.features.users.add import AddRequest, add_user
    from datakeeper.features.users.handout import handout

    options = global_options(ctx)
    require_root("user add")
    cfg = site_config(ctx)
    if sys.stdin.isatty() and not options.assume_yes:
        groups, shell, ssh_key, generate_key = _prompt_missing(
            cfg, groups, shell, ssh_key, generate_key
        )
    request = AddRequest(
        name=name,
        groups=_split(groups),
        shell=shell,
        gecos=full_name,
        public_keys=_read_keys(ssh_key),
        generate_key=generate_key,
        print_private_key=print_private_key,
        temp_password=temp_password,
        adopt_home=adopt_home,
        env_only=env_only or _ask_env_only(name, options),
        allow_privileged=tuple(allow_privileged_group or ()),
        layout=layout,
    )
    result = add_user(
        cfg, request, dry_run=options.dry_run, on_change=change_printer(options.json_output)
    )
    _warn_privileged(name, result.privileged_groups)
    if options.dry_run:
        emit(
            {"planned": result.changes},
            json_output=options.json_output,
            render=lambda c: c.print(_planned_line(len(result.changes))),
        )
        return
    sheet = handout(cfg, result, host)
    emit(
        sheet.as_dict(), json_output=options.json_output, render=lambda c: _print_handout(c, sheet)
    )


def _planned_line(count: int) -> str:
    return ngettext("{n} change planned", "{n} changes planned", count).format(n=count)


def _warn_privileged(name: str, groups) -> None:
    """One warning line on stderr per account given a root-equivalent group."""
    if not groups:
        return
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~10 ms).
    from datakeeper.features.users.groups import privileged_warning

    print_warning(privileged_warning(name, groups))


def _prompt_missing(cfg, groups, shell, ssh_key, generate_key):
    """Interactive: ask for what the flags did not say, with the config's defaults."""
    if groups is None:
        groups = typer.prompt(_("Extra groups (comma-separated, empty for none)"), default="")
    if shell is None:
        shell = typer.prompt(_("Shell"), default=cfg.home.default_shell)
    if ssh_key is None and generate_key is None:
        choice = typer.prompt(_("SSH key: paste, generate or skip"), default="generate")
        if choice == "paste":
            ssh_key = Path("-")
            typer.echo(_("Paste the public key(s), then Ctrl-D:"))
        elif choice == "generate":
            generate_key = typer.prompt(_("Key type (ed25519, rsa, ecdsa)"), default="ed25519")
    return groups, shell, ssh_key, generate_key


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()


def _read_keys(path: Path | None) -> str | None:
    if path is None:
        return None
    if str(path) == "-":
        return sys.stdin.read()
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~10 ms).
    from datakeeper.features.users.keys import read_key_source

    return read_key_source(str(path))


def _ask_env_only(name: str, options) -> bool:
    """The original offers "set up environment only" for an existing account."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~4 ms).
    from datakeeper.system import accounts

    if accounts.user_by_name(name) is None:
        return False
    if options.assume_yes:
        return True
    if not sys.stdin.isatty():
        return False
    return typer.confirm(
        _("Account {name} exists. Set up its environment only?").format(name=name), default=True
    )


def _print_handout(console, sheet) -> None:
    console.print("", markup=False)
    for line in sheet.text:
        console.print(line, markup=False)
    if sheet.private_key:
        console.print(sheet.private_key, markup=False)


@app.command(
    "list",
    help=_("Registered and human accounts: ids, groups, shell, home, last login, drift."),
    short_help=_("Every account: ids, groups, state."),
)
def list_(
    ctx: typer.Context,
    sizes: Annotated[bool, typer.Option("--sizes", help=_("Also measure each home."))] = False,
) -> None:
    """Registered and human accounts: ids, groups, shell, home, last login, drift."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~0.1 s).
    from datakeeper.engine.session import require_root
    from datakeeper.features.users.info import list_users

    require_root("user list")  # the registry is root's (0600)
    rows = list_users(site_config(ctx), sizes=sizes)
    data = [r.as_dict() for r in rows]
    emit(data, json_output=global_options(ctx).json_output, render=lambda c: _table(c, rows))


def _table(console, rows) -> None:
    from datakeeper.features.users.info import state_for_people  # see list_ on imports

    table = new_table(
        console,
        _("name"),
        _("uid"),
        _("groups"),
        _("shell"),
        _("home"),
        _("last login"),
        _("state"),
        _("size"),
    )
    for r in rows:
        size = f"{r.size_bytes / 1e9:.1f} GB" if r.size_bytes is not None else ""
        table.add_row(
            r.name,
            str(r.uid),
            ",".join(r.groups),
            r.shell or "",
            r.home_layout,
            r.last_login or "-",
            state_for_people(r.state),
            size,
        )
    console.print(table)


@app.command(
    "show",
    help=_("Everything about one account, including key fingerprints (your own without sudo)."),
    short_help=_("Everything about one account."),
)
def show(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Everything about one account, including key fingerprints (your own without sudo)."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~0.1 s).
    from datakeeper.engine.session import require_root
    from datakeeper.features.users.info import show_self, show_user, user_warnings

    cfg = site_config(ctx)
    if os.geteuid() != 0 and name == _caller():
        info, warnings = show_self(cfg, name).as_dict(), []
    else:
        require_root("user show")  # the registry is root's (0600)
        info, warnings = show_user(cfg, name).as_dict(), user_warnings(cfg, name)

    def render(console) -> None:
        for key, value in info.items():
            if key != "registry":
                label = _(SHOW_LABELS[key]) if key in SHOW_LABELS else key
                console.print(f"{padded(label, 12)} {people_value(value)}", markup=False)
        for warning in warnings:
            console.print(f"{padded(_('warning'), 12)} {warning}", markup=False)

    emit(info, json_output=global_options(ctx).json_output, render=render)


# user show's labels for people; --json keeps the field names.
SHOW_LABELS = {
    "name": N_("name"),
    "uid": N_("uid"),
    "groups": N_("groups"),
    "shell": N_("shell"),
    "home": N_("home"),
    "home_target": N_("home leads to"),
    "home_layout": N_("layout"),
    "keys": N_("keys"),
    "state": N_("state"),
    "last_login": N_("last login"),
    "size_bytes": N_("size"),
}


def _caller() -> str | None:
    """The name of the account running this command."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return None


@app.command(
    "set",
    help=_("Change a user's shell, groups or keys; the registry follows."),
    short_help=_("Change shell, groups or keys."),
)
def set_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    shell: Annotated[Opt[str], typer.Option(help=_("New login shell (bash, zsh)."))] = None,
    add_groups: Annotated[Opt[str], typer.Option(help=_("Groups to add, comma-separated."))] = None,
    remove_groups: Annotated[Opt[str], typer.Option(help=_("Groups to leave."))] = None,
    add_key: Annotated[Opt[Path], typer.Option(help=_("Public key file to authorize."))] = None,
    remove_key: Annotated[
        Opt[str], typer.Option(help=_("Fingerprint (SHA256:…) to revoke."))
    ] = None,
    allow_privileged_group: AllowPrivileged = None,
) -> None:
    """Change a user's shell, groups or keys; the registry follows."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~0.1 s).
    from datakeeper.engine.session import require_root
    from datakeeper.features.users.modify import SetRequest, set_user

    options = global_options(ctx)
    require_root("user set")
    request = SetRequest(
        name,
        shell,
        _split(add_groups),
        _split(remove_groups),
        _read_keys(add_key),
        (remove_key,) if remove_key else (),
        tuple(allow_privileged_group or ()),
    )
    outcome = set_user(
        site_config(ctx),
        request,
        dry_run=options.dry_run,
        on_change=change_printer(options.json_output),
    )
    _warn_privileged(name, request.allow_privileged)
    _finish(outcome, options)


@app.command(
    "register",
    help=_("Record an account created by other means, so recovery brings it back."),
    short_help=_("Record an existing account."),
)
def register(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    allow_privileged_group: AllowPrivileged = None,
) -> None:
    """Record an account created by other means, so recovery brings it back."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~0.1 s).
    from datakeeper.features.users.modify import register_user

    allowed = tuple(allow_privileged_group or ())
    feature = partial(register_user, allow_privileged=allowed)
    _registry_command(ctx, "user register", feature, name)
    _warn_privileged(name, allowed)


@app.command(
    "unregister",
    help=_("Forget an account in the registry; the account itself is left alone."),
    short_help=_("Forget an account in the registry."),
)
def unregister(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Forget an account in the registry; the account itself is left alone."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~0.1 s).
    from datakeeper.features.users.modify import unregister_user

    _registry_command(ctx, "user unregister", unregister_user, name)


def _registry_command(ctx: typer.Context, action: str, feature, name: str) -> None:
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~0.1 s).
    from datakeeper.engine.session import require_root

    options = global_options(ctx)
    require_root(action)
    outcome = feature(
        site_config(ctx),
        name,
        dry_run=options.dry_run,
        on_change=change_printer(options.json_output),
    )
    _finish(outcome, options)


def _finish(outcome, options) -> None:
    print_outcome_summary(outcome, json_output=options.json_output)


from datakeeper.cli import user_remove_cmd  # noqa: E402  (remove has a module of its own)

app.command(
    "remove",
    help=_(
        "Remove an account: registry entry, home link, account, crontab and at jobs.\n\n"
        "Their data in the persistent home is KEPT (owned by the old uid) unless --archive moves "
        "it under the backup root or --purge deletes it. Refuses while they are logged in or run "
        "processes, unless --kill-sessions."
    ),
    short_help=_("Remove an account; keep or archive data."),
)(user_remove_cmd.remove)

from datakeeper.cli import user_migrate_cmd  # noqa: E402  (migrate has a module of its own)

app.command(
    "migrate",
    help=_(
        "Move homes between the link layout (all on the data disk) and the hybrid layout (home on "
        "the SSD, ~/data and the dotfiles linked).\n\n"
        "--dry-run lists every file that moves. A journal on the data disk lets an interrupted run "
        "resume (run the same command again) or be undone (--rollback). Every file is verified by "
        "hash afterwards; a difference exits 1. Refuses while the user runs processes, unless "
        "--force."
    ),
    short_help=_("Move a home to the hybrid or link layout."),
)(user_migrate_cmd.migrate)
