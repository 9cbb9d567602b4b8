"""The command line as people type it: global options after the command too.

``--yes``, ``--dry-run``, ``--json`` (and ``--config FILE``) belong to the root
command, so Click only understands them before the command name. People type
``datakeeper check --json`` and ``datakeeper fix-permissions --shared --yes``:
this moves them in front before Click parses, walking the command tree so that
the value of another option (``--gecos --json``) and anything after ``--`` stay
where they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typer.core import TyperGroup

GLOBAL_FLAGS = frozenset({"--yes", "-y", "--dry-run", "--json"})
GLOBAL_WITH_VALUE = frozenset({"--config", "--lang"})
# (command, option) -> the value it takes when given without one (``gpu --idle``): Typer
# has no option whose value may be left out, so the bare option is completed here.
OPTIONAL_VALUES: dict[tuple[str, str], str] = {}


def optional_value(command: str, option: str, default: str) -> None:
    """Let ``option`` of ``command`` be given bare: ``--idle`` reads as ``--idle=30``
    unless a number follows it."""
    OPTIONAL_VALUES[(command, option)] = default


def hoist_global_options(argv: Sequence[str], root: Any) -> list[str]:
    # ``root`` is a Click command (Typer's or click's own Click: see cli/clickcompat.py).
    """``argv`` with every global option moved in front of the first command name."""
    front: list[str] = []
    rest: list[str] = []
    command = root
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS:
            front.append(arg)
        elif name in GLOBAL_WITH_VALUE:
            taken = 1 if "=" in arg else 2
            front.extend(argv[index : index + taken])
            index += taken - 1
        elif (getattr(command, "name", None), arg) in OPTIONAL_VALUES:
            following = argv[index + 1] if index + 1 < len(argv) else ""
            if _is_number(following):
                rest.extend((arg, following))
                index += 1
            else:
                rest.append(f"{arg}={OPTIONAL_VALUES[(command.name, arg)]}")
        elif arg.startswith("-") and len(arg) > 1:
            rest.append(arg)
            if "=" not in arg and name in _options_with_values(command) and index + 1 < len(argv):
                index += 1
                rest.append(argv[index])  # the option's value, whatever it looks like
        else:
            command = _subcommand(command, arg) or command
            rest.append(arg)
        index += 1
    return front + rest


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _subcommand(command: Any, name: str) -> Any:
    commands = getattr(command, "commands", None)
    return commands.get(name) if commands else None


def _options_with_values(command: Any) -> set[str]:
    """The option strings of ``command`` that take a value (not flags, not counts)."""
    names: set[str] = set()
    for param in command.params:
        is_option = param.param_type_name == "option"
        if is_option and not (param.is_flag or param.count):
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


class GlobalOptionsGroup(TyperGroup):
    """The root command group: moves the global options in front before parsing, so
    every way of running the app (the console script, tests' CliRunner) accepts them
    after the command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args, self))
