"""``datakeeper --help`` and ``--version`` answered before Typer loads.

Importing Typer alone takes longer than the whole start-up budget of
``--help`` (issue 19: at most 0.06 s, the Korean catalog loaded; Typer's
import measured 30-47 ms). These two answers need no parser, so the console
script gives them from here when the command line asks for nothing else
(``--lang`` aside). The help is laid out as Click lays it out (its help
formatter, at the width it would choose), from the same texts and table as
the command line; tests/unit/test_cli_startup.py checks that both are the
same, character for character, at every width and in every language.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Sequence

from datakeeper import __version__
from datakeeper.cli.commands import COMPLETE_VAR, command_table, root_texts
from datakeeper.config_location import CONFIG_ENV_VAR
from datakeeper.i18n import LANGUAGES, _

HELP_OPTIONS = ("--help", "-h")
USAGE_ARGUMENTS = "[OPTIONS] COMMAND [ARGS]..."
# Click's layout constants (click.formatting.HelpFormatter and its write_dl).
MAX_WIDTH = 80
MIN_WIDTH = 50
INDENT = 2
COLUMN_MAX = 30
COLUMN_SPACING = 2


def quick_answer(argv: Sequence[str]) -> str | None:
    """The whole output of ``datakeeper --help`` or ``datakeeper --version`` when ``argv``
    is one of them (with any valid ``--lang``), else ``None``: the command line answers."""
    if COMPLETE_VAR in os.environ:
        return None
    rest = _without_language(argv)
    if rest == ["--version"]:
        return f"datakeeper {__version__}\n"
    if rest is not None and len(rest) == 1 and rest[0] in HELP_OPTIONS:
        text = root_help(help_width()) + "\n"
        return text if _writable(text) else None
    return None


def _writable(text: str) -> bool:
    """Whether standard output takes ``text`` as it is; one set to ASCII, say, is left to
    Click, which writes UTF-8 to it anyway."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _without_language(argv: Sequence[str]) -> list[str] | None:
    """``argv`` without its ``--lang`` options; ``None`` when one has no valid value (the
    command line reports that)."""
    rest: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--lang":
            value = next(words, None)
        elif word.startswith("--lang="):
            value = word.split("=", 1)[1]
        else:
            rest.append(word)
            continue
        if value not in LANGUAGES:
            return None
    return rest


def help_width() -> int:
    """The width Click formats help to: the terminal's (``COLUMNS`` first, as
    ``shutil.get_terminal_size``, which costs the compression modules to import),
    at most 80, less a margin of 2, at least 50."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or MAX_WIDTH
        except (AttributeError, ValueError, OSError):
            columns = MAX_WIDTH
    return max(min(columns, MAX_WIDTH) - 2, MIN_WIDTH)


def root_help(width: int) -> str:
    """``datakeeper --help`` at ``width``, without its final newline (as Click's)."""
    texts = root_texts()
    env_var = _("env var: {var}").format(var=CONFIG_ENV_VAR)
    options = [
        ("--config <path>", f"{texts.config}  [{env_var}]"),
        ("--dry-run", texts.dry_run),
        ("--json", texts.json),
        ("-y, --yes", texts.yes),
        ("--lang ko|en", texts.lang),
        ("--version", texts.version),
        ("-h, --help", _("Show this message and exit.")),
    ]
    # Click shows a short help whole (its length limit applies to long help only).
    commands = [(entry.name, entry.short_help.strip()) for entry in command_table()]
    parts = [
        _usage(_("Usage: "), "datakeeper", USAGE_ARGUMENTS, width),
        "\n",
        _fill(texts.help, width, " " * INDENT, " " * INDENT),
        "\n",
        _section(_("Options"), options, width),
        _section(_("Commands"), commands, width),
    ]
    return "".join(parts).rstrip("\n")


def _usage(prefix: str, program: str, arguments: str, width: int) -> str:
    """Click's ``write_usage`` at indent 0."""
    start = f"{prefix}{program} "
    if width >= len(start) + 20:
        return _fill(arguments, width, start, " " * len(start)) + "\n"
    indent = " " * (len(prefix) + 4)
    return f"{start}\n{_fill(arguments, width, indent, indent)}\n"


def _section(heading: str, rows: list[tuple[str, str]], width: int) -> str:
    """A blank line, ``heading:`` and the rows as Click's ``write_dl`` lays them out."""
    first_column = min(max(len(term) for term, _text in rows), COLUMN_MAX) + COLUMN_SPACING
    text_width = max(width - first_column - 2, 10)
    out = ["\n", f"{heading}:\n"]
    for term, text in rows:
        out.append(" " * INDENT + term)
        if len(term) <= first_column - COLUMN_SPACING:
            out.append(" " * (first_column - len(term)))
        else:
            out.append("\n" + " " * (first_column + INDENT))
        lines = _fill(text, text_width).splitlines() or [""]
        out.append(f"{lines[0]}\n")
        out.extend(f"{'':>{first_column + INDENT}}{line}\n" for line in lines[1:])
    return "".join(out)


def _fill(text: str, width: int, first: str = "", following: str = "") -> str:
    """One paragraph wrapped as Click's ``wrap_text`` does."""
    wrapper = _ClickWrapper(
        width, initial_indent=first, subsequent_indent=following, replace_whitespace=False
    )
    return wrapper.fill(text.expandtabs())


class _ClickWrapper(textwrap.TextWrapper):
    """Click's wrapper: a word longer than the line is cut where the line ends (the
    standard library would cut it after a hyphen)."""

    def _handle_long_word(
        self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int
    ) -> None:
        space_left = max(width - cur_len, 1)
        last = reversed_chunks[-1]
        cur_line.append(last[:space_left])
        reversed_chunks[-1] = last[space_left:]
