"""Click's own words (help headings, usage errors) in the user's language.

The Click inside Typer has no translation hook: its headings and errors are
English literals. Help goes through a help formatter that translates the
headings it is given, and a usage error's message is matched against the few
shapes Click produces and rebuilt from our catalog. A message that matches
none stays as Click wrote it: English, never lost.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import typer

from datakeeper.i18n import N_, _

# Click's sentence shapes -> our msgid with the same fields.
_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^No such option: (?P<name>.+)$"), N_("No such option: {name}")),
    (re.compile(r"^No such command '(?P<name>.*)'\.$"), N_("No such command '{name}'.")),
    (re.compile(r"^Missing argument (?P<name>.+)\.$"), N_("Missing argument {name}.")),
    (re.compile(r"^Missing option (?P<name>.+)\.$"), N_("Missing option {name}.")),
    (
        re.compile(r"^Got unexpected extra argument\(s\) \((?P<args>.*)\)$"),
        N_("Got unexpected extra arguments ({args})"),
    ),
    (
        re.compile(r"^Option '(?P<name>.*)' requires an argument\.$"),
        N_("Option '{name}' requires a value."),
    ),
    (
        re.compile(r"^Option '(?P<name>.*)' does not take a value\.$"),
        N_("Option '{name}' does not take a value."),
    ),
    (
        re.compile(r"^(?P<value>'.*') is not one of (?P<choices>.*)\.$"),
        N_("{value} is not one of {choices}."),
    ),
    (
        re.compile(r"^Value (?P<value>'.*') is not a valid (?P<kind>\w+)\.$"),
        N_("{value} is not a valid {kind}."),
    ),
    (re.compile(r"^Invalid value for (?P<param>.+?): (?P<message>.*)$"), ""),
)
_POSSIBLE = re.compile(r"^(?P<message>.*) \(Possible options: (?P<options>.*)\)$")
_INVALID_VALUE = N_("Invalid value for {param}: {message}")
_HEADINGS = {
    "Options": N_("Options"),
    "Arguments": N_("Arguments"),
    "Commands": N_("Commands"),
}
_HELP_OPTION = N_("Show this message and exit.")
# What Typer adds to help and errors through the stdlib's gettext (its module's ``_``).
_TYPER_TEXTS = frozenset(
    {
        N_("default: {default}"),
        N_("required"),
        N_("env var: {var}"),
        N_("(dynamic)"),
        N_("Missing command."),
        N_("No such command {name!r}."),
        N_("Aborted!"),
    }
)


def translate_error(message: str) -> str:
    """``message`` from Click in the user's language, when it has one of Click's shapes."""
    possible = _POSSIBLE.match(message)
    if possible:
        options = possible.group("options")
        hint = _("did you mean one of: {options}?").format(options=options)
        return f"{translate_error(possible.group('message'))} ({hint})"
    for pattern, msgid in _ERRORS:
        match = pattern.match(message)
        if not match:
            continue
        if not msgid:  # "Invalid value for X: Y": Y is Click's or ours, translate it too
            inner = translate_error(match.group("message"))
            return _(_INVALID_VALUE).format(param=match.group("param"), message=inner)
        return _(msgid).format(**match.groupdict())
    return message


def install_help_formatter() -> None:
    """Make every help screen use the translating formatter (Click looks it up on the
    context class, so one assignment covers every command), and route the words Typer
    adds ("required", "default: …") through our catalog."""
    context = _click_context_class()
    if not issubclass(context.formatter_class, _Translating):
        context.formatter_class = type(
            "TranslatedHelpFormatter", (_Translating, context.formatter_class), {}
        )
    typer_core = sys.modules.get("typer.core")
    if typer_core is not None and callable(getattr(typer_core, "_", None)):
        # Typer looks ``_`` up in its module at each call: the stdlib's gettext, which
        # knows no catalog of ours.
        typer_core._ = _typer_text  # type: ignore[attr-defined]


def _typer_text(message: str) -> str:
    return _(message) if message in _TYPER_TEXTS else message


class _Translating:
    """Mixed in before Click's HelpFormatter: the words Click adds, translated."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix if prefix is not None else _("Usage: "))  # type: ignore[misc]

    def section(self, name: str) -> Any:
        return super().section(_(_HEADINGS[name]) if name in _HEADINGS else name)  # type: ignore[misc]

    def write_dl(self, rows: Any, *args: Any, **kwargs: Any) -> None:
        rows = [(term, _(text) if text == _HELP_OPTION else text) for term, text in rows]
        super().write_dl(rows, *args, **kwargs)  # type: ignore[misc]


def _click_context_class() -> Any:
    """The Click Context class commands create (Typer's own copy of Click, or click)."""
    return next(cls for cls in reversed(typer.Context.__mro__) if cls.__name__ == "Context")
