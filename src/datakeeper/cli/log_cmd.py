"""``datakeeper log``: what datakeeper changed, when, and for whom."""

from __future__ import annotations

from typing import Annotated

import typer

from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit
from datakeeper.i18n import _
from datakeeper.text import printable

# The action log module (~5 ms, measured with `python3 -X importtime`) is imported
# inside the command: only `log show` reads it, every other start-up would pay.

app = typer.Typer(help=_("Show the action log."), no_args_is_help=True)


@app.command(
    "show",
    help=_("Print the newest entries of the action log (root only: it names accounts)."),
    short_help=_("The newest entries (root only)."),
)
def show(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help=_("Newest N entries."))] = 50,
) -> None:
    """Print the newest entries of the action log (root only: it names accounts)."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.actionlog import read_actions

    cfg = site_config(ctx, missing_ok=True)
    entries = read_actions(cfg.action_log_path, limit=limit)

    def render(console) -> None:
        for e in entries:
            line = (
                f"{e.get('time')}  {e.get('actor')}  {e.get('resource')}: "
                f"{e.get('change')} ({e.get('outcome')})"
            )
            # Records older than the log's own escaping may hold raw names.
            console.print(printable(line), markup=False)
            result = (e.get("details") or {}).get("result")
            if result:  # what an applied change found and did (a merge, a cleanup)
                console.print(f"    {printable(str(result))}", markup=False)

    emit(entries, json_output=global_options(ctx).json_output, render=render)
