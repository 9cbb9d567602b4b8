"""``datakeeper recovery``: the boot service (enable, disable, status, run, hook) and the
password sync it relies on."""

from __future__ import annotations

from pathlib import Path

import typer

from datakeeper.cli.common import change_printer, print_outcome_summary, site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit
from datakeeper.cli.recover_cmd import recover as recover_command
from datakeeper.i18n import _

# The config, the engine and the features are imported inside the commands, when one
# runs: importing them here would add pydantic and the engine to every start-up
# (`datakeeper --help` takes ~0.15 s; they would add ~0.18 s).

app = typer.Typer(
    help=_("Run recovery at every boot, before logins; keep passwords in the registry."),
    no_args_is_help=True,
)


def _config_path(ctx: typer.Context) -> Path:
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import resolve_config_path

    return resolve_config_path(global_options(ctx).config_path).absolute()


@app.command(
    "enable",
    help=_(
        "Install the boot service, the password sync and the login wait; every later 'recover' "
        "recreates them after a wipe. Under systemd the units are enabled (recovery runs at the "
        "next boot; 'recovery run' runs it now)."
    ),
    short_help=_("Install the boot service."),
)
def enable(ctx: typer.Context) -> None:
    """Install the boot service, the password sync and the login wait."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.recovery.boot import enable as enable_boot

    options = global_options(ctx)
    cfg = site_config(ctx)
    require_root("recovery enable")
    printer = change_printer(options.json_output)
    result = enable_boot(cfg, _config_path(ctx), dry_run=options.dry_run, on_change=printer)
    _finish(result, options.json_output)


@app.command(
    "disable",
    help=_("Disable the boot service and remove every file 'enable' wrote."),
    short_help=_("Remove the boot service."),
)
def disable(ctx: typer.Context) -> None:
    """Disable the boot service and remove every file 'enable' wrote."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.recovery.boot import disable as disable_boot

    options = global_options(ctx)
    cfg = site_config(ctx)
    require_root("recovery disable")
    printer = change_printer(options.json_output)
    result = disable_boot(cfg, dry_run=options.dry_run, on_change=printer)
    _finish(result, options.json_output)


def _finish(result, json_output: bool) -> None:
    if json_output:
        emit({**result.outcome.as_dict(), "notes": result.notes}, json_output=True, render=None)
    else:
        print_outcome_summary(result.outcome, json_output=False)
        for note in result.notes:
            print(note)
    if not result.outcome.ok:
        raise typer.Exit(1)


@app.command(
    "status",
    help=_(
        "Enabled or not, the boot files, systemd's view, the last recovery and the done marker."
    ),
    short_help=_("Boot files, systemd, the last run."),
)
def status(ctx: typer.Context) -> None:
    """Enabled or not, the boot files, systemd's view, the last recovery and the done marker."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.recovery.boot import status as boot_status

    options = global_options(ctx)
    cfg = site_config(ctx, missing_ok=True)
    found = boot_status(cfg, _config_path(ctx))
    emit(
        found.as_dict(),
        json_output=options.json_output,
        render=lambda c: _status(c, found),
    )


def _status(console, found) -> None:
    state = {True: _("enabled"), False: _("not enabled")}.get(
        found.enabled, _("unknown (only root can read the flag)")
    )
    console.print(_("Boot recovery: {state}; systemd {systemd}").format(
        state=state, systemd=found.systemd), markup=False)  # fmt: skip
    for f in found.files:
        mark = _("missing")
        if f.present:
            mark = "✓" if f.current else _("differs from what enable writes")
        console.print(f"  {f.path}  {mark}", markup=False)
    for unit, state in found.units.items():
        console.print(f"  {unit}: {state.enabled}, {state.active}", markup=False)
    if not found.install_present:
        console.print(
            _("  {path} is missing: run install.sh").format(path=found.install), markup=False
        )
    last = found.last_run
    if last:
        result = {True: _("ok"), False: _("with problems")}.get(last.ok, _("finished"))
        console.print(_("Last recovery: {time}, {result}: {summary}").format(
            time=last.time, result=result, summary=last.summary), markup=False)  # fmt: skip
    else:
        console.print(_("Last recovery: never"))
    done = _("yes") if found.done_marker else _("no (logins wait)")
    console.print(_("Recovered since this boot: {done}").format(done=done), markup=False)
    for warning in found.warnings:
        console.print(_("Warning: {text}").format(text=warning), markup=False)


@app.command(
    "run",
    help=_("Run recovery now: the same as 'datakeeper recover'."),
    short_help=_("Recover now (= datakeeper recover)."),
)
def run(ctx: typer.Context) -> None:
    """Run recovery now: the same as 'datakeeper recover'."""
    recover_command(ctx, boot=False)


@app.command(
    "hook",
    help=_(
        "Print the boot hook line for a cloud-init per-boot script or /etc/rc.local, for a server "
        "whose /etc/systemd is wiped too (it refuses by itself when /data is not mounted)."
    ),
    short_help=_("Print the boot line for rc.local."),
)
def hook(ctx: typer.Context) -> None:
    """Print the boot hook line for a server whose /etc/systemd is wiped too."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.recovery.boot import hook_line

    cfg = site_config(ctx, missing_ok=True)
    line = hook_line(cfg, _config_path(ctx))
    emit({"hook": line}, json_output=global_options(ctx).json_output, render=lambda _c: print(line))


@app.command(
    "sync-passwords",
    help=_("Save password changes made with passwd in the registry, so recovery restores them."),
    short_help=_("Save changed passwords."),
)
def sync_passwords(ctx: typer.Context) -> None:
    """Save password changes made with passwd in the registry, so recovery restores them."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.users.passwords import sync_passwords as sync

    options = global_options(ctx)
    cfg = site_config(ctx)
    require_root("recovery sync-passwords")
    data = sync(cfg, dry_run=options.dry_run).as_dict()
    emit(data, json_output=options.json_output, render=lambda c: _synced(c, data))


def _synced(console, data) -> None:
    names = ", ".join(data["updated"])
    if not names:
        console.print(_("Every recorded password is current."))
    elif data["dry_run"]:
        console.print(_("Would save the changed password of: {names}").format(names=names))
    else:
        console.print(_("Saved the changed password of: {names}").format(names=names))
    for reason in data["held_back"].values():
        console.print(f"  {reason}", markup=False)
