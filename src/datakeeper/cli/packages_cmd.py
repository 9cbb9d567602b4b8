"""``datakeeper packages``: list the catalogue of admin tools; install some for everyone."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import LinePrinter, emit, new_table
from datakeeper.i18n import _, ngettext
from datakeeper.status import ChangeOutcome, InstallStatus

# rich.table, the engine and the features are imported inside the commands, when one
# runs: importing them here would add them to every start-up (`datakeeper --help`
# takes ~0.15 s; the features alone would add ~0.18 s).

app = typer.Typer(
    help=_("Common admin tools (fzf, ripgrep, fd, bat, neovim, btop, nvtop, ruff …) for everyone."),
    no_args_is_help=True,
)


@app.command(
    "list",
    help=_("The catalogue: each package, how it is installed, and whether it is installed now."),
    short_help=_("The catalogue and what is installed."),
)
def list_(ctx: typer.Context) -> None:
    """The catalogue: each package, how it is installed, and whether it is installed now."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.packages import package_status

    rows = package_status(site_config(ctx, missing_ok=True))
    data = [row.as_dict() for row in rows]
    emit(data, json_output=global_options(ctx).json_output, render=lambda c: _table(c, rows))


def _table(console, rows) -> None:
    table = new_table(console, _("name"), _("from"), _("installed"), _("what it is"))
    for row in rows:
        package = row.package
        how = "apt" if package.kind == "apt" else "uv/pip"
        mark = "✓" if row.installed else "-"
        table.add_row(package.name, f"{how} {package.source}", mark, package.description)
    console.print(table)
    console.print(_wiped_note(), markup=False)


@app.command(
    "install",
    help=_(
        "Install packages from the catalogue; without names, the recorded ones again.\n\n"
        "After a reboot the OS packages are gone: run it with no names to get back what was "
        "installed before. One failing package does not stop the others; the exit code is 1 if any "
        "failed."
    ),
    short_help=_("Install (none named: the recorded)."),
)
def install(
    ctx: typer.Context,
    names: Annotated[
        Optional[list[str]],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Argument(help=_("Catalogue names (see 'packages list') [the recorded ones].")),
    ] = None,
) -> None:
    """Install packages from the catalogue; without names, the recorded ones again."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.packages import install_packages, names_or_recorded, resolve

    options = global_options(ctx)
    if names:
        resolve(names)  # unknown names are refused before anything else
    require_root("packages install")
    cfg = site_config(ctx)
    names = names_or_recorded(cfg, names or [])
    if not names:
        none_yet = _("No package is recorded yet: name the ones to install (see 'packages list').")
        emit([], json_output=options.json_output, render=lambda c: c.print(none_yet))
        return
    printer = _Progress(quiet=options.json_output)
    results = install_packages(
        cfg, names, dry_run=options.dry_run, listener=printer, on_change=printer.change
    )
    data = [r.as_dict() for r in results]
    emit(data, json_output=options.json_output, render=lambda c: _summary(c, results))
    if any(r.status is InstallStatus.FAILED for r in results):
        raise typer.Exit(1)


class _Progress(LinePrinter):
    """Prints each package as it starts, its changes, and its result (an InstallListener)."""

    def started(self, index: int, total: int, package) -> None:
        self._print(f"[{index}/{total}] {package.name} ({package.kind} {package.source}) …")

    def change(self, change, outcome: str) -> None:
        if outcome == ChangeOutcome.APPLIED:
            self._print(f"    {change.summary}")

    def finished(self, result) -> None:
        detail = f": {result.error}" if result.error else ""
        self._print(f"  {result.status.mark} {result.status.word}{detail}")


def _summary(console, results) -> None:
    failed = [r.name for r in results if r.status is InstallStatus.FAILED]
    ok = len(results) - len(failed)
    line = ngettext(
        "{ok} package in place, {n} failed", "{ok} packages in place, {n} failed", ok
    ).format(ok=ok, n=len(failed))
    console.print(line + (f": {', '.join(failed)}" if failed else ""), markup=False)
    console.print(_wiped_note(), markup=False)


def _wiped_note() -> str:
    # Imported here, when a command prints it: start-up cost (see the note at the top).
    from datakeeper.features.packages import wiped_note

    return wiped_note()
