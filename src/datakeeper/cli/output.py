"""Printing for people (Rich) and for scripts (``--json``), and one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datakeeper.i18n import _

if TYPE_CHECKING:
    from rich.console import Console


def stdout_console() -> Console:
    """A Rich console on standard output."""
    # Imported here: rich loads only when something is printed (measured ~12 ms of start-up).
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    """A Rich console on standard error, for progress and diagnostics."""
    # Imported here: rich loads only when something is printed (measured ~12 ms of start-up).
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def emit(data: Any, *, json_output: bool, render: Callable[[Console], None]) -> None:
    """Print ``data`` as JSON for scripts, or call ``render`` for people."""
    if json_output:
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        render(stdout_console())


def print_error(message: str) -> None:
    """One line on standard error, prefixed so it is clear who is speaking."""
    prefix = _("datakeeper: error:")
    print(f"{prefix} {message}", file=sys.stderr)
