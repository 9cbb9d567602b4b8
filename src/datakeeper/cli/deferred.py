"""Typer's conversion of a parameter's value, set up only for a value that is there.

Recent Typer releases (0.2x) convert each parameter's value through a
pydantic ``TypeAdapter``, built on first use even for an option left out
(``None``), and importing pydantic for that costs more than the rest of
``datakeeper user --help`` (benchmarks/help_startup.py). A value left out
converts to ``None`` in Typer too, so here it does without the adapter; a
given value, or a default that is not ``None``, goes through Typer's own
conversion, unchanged. The ``--help`` option Click adds to every command is
built here too, so that it is covered. Typer versions without this machinery
(0.12 converts with Click's types) are left as they are.
tests/unit/test_cli_startup.py checks what each command loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RUNTIME_ATTRIBUTE = "_runtime_param"  # where Typer keeps a parameter's converter
HELP_CACHE_ATTRIBUTE = "_help_option"  # where Typer's Click keeps a command's --help option


class _BuiltWhenGiven:
    """Stands in for Typer's converter until a parameter has a value to convert."""

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None and not (param.multiple or param.nargs == -1):
            return None  # what Typer's converter returns for a missing single value
        setattr(param, RUNTIME_ATTRIBUTE, None)  # Typer builds its own from now on
        return param.get_runtime_param().coerce(value, param=param, ctx=ctx)


class _HelpNames:
    """The one thing ``get_help_option`` reads from its context: the option's names."""

    def __init__(self, names: Sequence[str]) -> None:
        self.help_option_names = list(names)


def defer_conversion(command: Any, help_names: Sequence[str], *, subcommands: bool = True) -> None:
    """Give each parameter of ``command`` (its ``--help`` included, and those of its
    subcommands) Typer's converter only once a value needs it. ``help_names`` are
    the help option's names the context passes down (``-h``, ``--help``)."""
    names = (command.context_settings or {}).get("help_option_names", help_names)
    params = list(command.params)
    if hasattr(command, HELP_CACHE_ATTRIBUTE):  # built once and kept: cover it too
        params.append(command.get_help_option(_HelpNames(names)))
    for param in params:
        if getattr(param, RUNTIME_ATTRIBUTE, False) is None and hasattr(param, "get_runtime_param"):
            setattr(param, RUNTIME_ATTRIBUTE, _BuiltWhenGiven())
    if subcommands:
        for sub in (getattr(command, "commands", None) or {}).values():
            defer_conversion(sub, names)
