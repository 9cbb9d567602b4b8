"""``datakeeper log``: what datakeeper changed, when, and for whom."""

from __future__ import annotations

from typing import Annotated

import typer

from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options

app = typer.Typer(help="Show the action log.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N entries.")] = 50,
) -> None:
    """Print the newest entries of the action log (root only: it names accounts)."""
    from datakeeper.actionlog import read_actions
    from datakeeper.cli.output import emit

    cfg = site_config(ctx, missing_ok=True)
    entries = read_actions(cfg.action_log_path, limit=limit)

    def render(console) -> None:
        for e in entries:
            console.print(
                f"{e.get('time')}  {e.get('actor')}  {e.get('resource')}: "
                f"{e.get('change')} ({e.get('outcome')})",
                markup=False,
            )
            result = (e.get("details") or {}).get("result")
            if result:  # what an applied change found and did (a merge, a cleanup)
                console.print(f"    {result}", markup=False)

    emit(entries, json_output=global_options(ctx).json_output, render=render)
