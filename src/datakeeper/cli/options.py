"""Options shared by every command, set once by the root callback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer


@dataclass
class GlobalOptions:
    """What the root callback parsed; commands read it from ``ctx.obj``."""

    config_path: Path | None = None
    dry_run: bool = False
    json_output: bool = False
    assume_yes: bool = False


def global_options(ctx: typer.Context) -> GlobalOptions:
    """The options of the current invocation (defaults when run outside the app)."""
    options = ctx.find_object(GlobalOptions)
    return options if options is not None else GlobalOptions()
