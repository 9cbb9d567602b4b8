"""Commands that load when they are used, so ``datakeeper --help`` imports none of them.

The root group lists each command from a small table (``cli/commands.py``): its
name, the module and attribute that define it, its one-line help. A command's
module is imported (and Typer introspects its signature) only when that
command runs, is completed on Tab or shows its own ``--help``: Click's
"lazily loading subcommands" pattern, through the group's ``commands``
mapping, which every part of Click and Typer reads. Their options convert
their values the way ``cli/deferred.py`` explains.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from importlib import import_module
from typing import Any

import typer
from typer.core import TyperGroup

from datakeeper.cli.commands import CommandEntry
from datakeeper.cli.deferred import defer_conversion

COMMAND_PACKAGE = "datakeeper.cli"
HELP_NAMES = ("--help",)  # Click's, when the context settings name none


def load_command(entry: CommandEntry, help_names: Sequence[str] = HELP_NAMES) -> Any:
    """The Click command of ``entry``, built by Typer exactly as ``add_typer`` or
    ``command`` on the root app would build it; ``help_names`` are the root's."""
    module, attribute = entry.target.split(":")
    found = getattr(import_module(f"{COMMAND_PACKAGE}.{module}"), attribute)
    # The settings the root app (cli/app.py) passes down to its commands.
    holder = typer.Typer(
        rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False
    )
    holder.callback()(_holder_callback)  # a group, even with one command in it
    if isinstance(found, typer.Typer):
        holder.add_typer(found, name=entry.name, short_help=entry.short_help)
    else:
        holder.command(entry.name, help=entry.help, short_help=entry.short_help)(found)
    command = typer.main.get_command(holder).commands[entry.name]  # type: ignore[attr-defined]
    defer_conversion(command, help_names)
    return command


def _holder_callback() -> None:
    """Never runs: only the command built under it is used."""


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands by name, in the table's order; a command from the table is
    built on first access. Names and membership never load anything (the
    "did you mean" suggestions read the names only)."""

    def __init__(
        self,
        loaded: dict[str, Any],
        table: Iterable[CommandEntry],
        help_names: Sequence[str] = HELP_NAMES,
    ) -> None:
        self._help_names = help_names
        self._loaded = dict(loaded)
        self._table = {entry.name: entry for entry in table if entry.name not in loaded}
        self._order = [*self._loaded, *self._table]

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            entry = self._table[name]  # KeyError: no such command
            self._loaded[name] = load_command(entry, self._help_names)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self:
            self._order.append(name)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._order.remove(name)
        self._loaded.pop(name, None)
        self._table.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._table

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def hidden(self, name: str) -> bool:
        """Whether ``name`` stays out of the command list (only a loaded command can say)."""
        command = self._loaded.get(name)
        return command is not None and command.hidden

    def short_help(self, name: str, limit: int) -> str:
        """The one line the command list shows for ``name``, loading nothing."""
        command = self._loaded.get(name)
        if command is not None:
            return command.get_short_help_str(limit)
        return inspect.cleandoc(self._table[name].short_help).strip()


class LazyGroup(TyperGroup):
    """A group whose ``lazy_commands`` (set by a subclass) load on first use."""

    lazy_commands: tuple[CommandEntry, ...] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        names = (self.context_settings or {}).get("help_option_names", HELP_NAMES)
        self.commands = LazyCommands(dict(self.commands), self.lazy_commands, names)
        defer_conversion(self, names, subcommands=False)  # walking them would load them all

    def list_commands(self, ctx: Any) -> list[str]:
        """The names in the table's order (Typer's own version would load them all)."""
        return list(self.commands)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Click's "Commands" section, written from the table: no command loads."""
        commands: LazyCommands = self.commands  # type: ignore[assignment]
        names = [name for name in self.list_commands(ctx) if not commands.hidden(name)]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, commands.short_help(name, limit)) for name in names]
        with formatter.section("Commands"):  # the help formatter translates Click's words
            formatter.write_dl(rows)
