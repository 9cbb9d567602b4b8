"""Helpers shared by command modules: loading the site config, rendering a plan."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, stdout_console
from datakeeper.i18n import _, ngettext
from datakeeper.status import change_line
from datakeeper.text import printable

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.engine import Change, Outcome


def site_config(ctx: typer.Context, *, missing_ok: bool = False) -> SiteConfig:
    """The site config named by --config / DATAKEEPER_CONFIG / the default path."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (pydantic, measured ~0.1 s).
    from datakeeper.config import load_config, resolve_config_path

    path = resolve_config_path(global_options(ctx).config_path)
    return load_config(path, missing_ok=missing_ok)


def change_printer(json_output: bool):
    """A listener that prints each change as it is planned or applied (not in --json)."""
    if json_output:
        return None
    console = stdout_console()

    def show(change: Change, outcome: str) -> None:
        console.print(change_line(change.summary, outcome, worded=True), markup=False)

    return show


def print_outcome_summary(outcome: Outcome, *, json_output: bool) -> None:
    """Close a run with one line (people) or the whole outcome (scripts)."""

    def render(console) -> None:
        if not outcome.planned:
            console.print(_("Nothing to do: already as configured."))
        elif outcome.dry_run:
            console.print(
                ngettext(
                    "Dry run: {n} change planned, nothing changed.",
                    "Dry run: {n} changes planned, nothing changed.",
                    len(outcome.planned),
                ).format(n=len(outcome.planned))
            )
        else:
            applied = len(outcome.applied)
            console.print(
                ngettext("{n} change applied.", "{n} changes applied.", applied).format(n=applied)
            )

    emit(outcome.as_dict(), json_output=json_output, render=render)


def print_warning(message: str) -> None:
    """One warning line on standard error (the run goes on), escaped like errors."""
    prefix = _("datakeeper: warning:")
    print(f"{prefix} {printable(message)}", file=sys.stderr)
