"""Every help text a person reads can be translated: each one is a literal passed to
``_()`` (or ``ngettext()``), so ``pybabel extract`` puts it in the catalog.

A plain ``help="..."`` or a command whose help comes from its docstring would stay
English in every language; these tests name the first ones found.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest
import typer
from babel.messages.extract import extract_from_dir

import datakeeper
from datakeeper.cli.app import app

SOURCE = Path(datakeeper.__file__).parent
HELP_KEYWORDS = ("help", "short_help", "epilog")
# Babel's keyword spec, as in `pybabel extract -k _ -k ngettext:1,2`.
KEYWORDS = {"_": None, "ngettext": (1, 2)}
# Click's own --help option: its text is Click's, not ours.
CLICK_OWN = {"help"}


@pytest.fixture(scope="module")
def msgids() -> set[str]:
    """Every message id the extraction finds in src/datakeeper (both forms of a plural)."""
    found: set[str] = set()
    method_map = [("**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SOURCE), method_map=method_map, keywords=KEYWORDS
    ):
        found.update([message] if isinstance(message, str) else message)
    return found


def _plain_help_literals(path: Path) -> list[str]:
    """``name:line`` of each help=/short_help=/epilog= given a bare string literal."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.name}:{node.value.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword)
        and node.arg in HELP_KEYWORDS
        and isinstance(node.value, (ast.Constant, ast.JoinedStr))
    ]


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    """``(path, command)`` for the root and every group and command below it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def _help_texts(command: click.Command, path: tuple[str, ...]):
    """``(where, text)`` for every help text ``--help`` shows for one command."""
    where = " ".join(("datakeeper", *path))
    yield f"{where} (help)", command.help
    if command.short_help:
        yield f"{where} (short help)", command.short_help
    for param in command.params:
        if param.name not in CLICK_OWN and getattr(param, "help", None):
            yield f"{where} {param.opts[0]}", param.help


def test_cli_gives_no_plain_help_strings():
    offenders = [
        found
        for path in sorted((SOURCE / "cli").glob("*.py"))
        for found in _plain_help_literals(path)
    ]
    assert offenders == [], f"help texts not wrapped in _(): {offenders}"


def test_plain_help_string_is_caught(tmp_path):
    """The scan sees each form it forbids, and passes the wrapped one."""
    sample = tmp_path / "sample_cmd.py"
    sample.write_text(
        "import typer\n"
        'app = typer.Typer(help="Plain.")\n'
        'OPTION = typer.Option("--x", help="Plain " "joined.")\n'
        'app.command("y", short_help=f"{NAME}")\n'
        'app.command("z", help=_("Wrapped."))\n',
        encoding="utf-8",
    )
    assert _plain_help_literals(sample) == ["sample_cmd.py:2", "sample_cmd.py:3", "sample_cmd.py:4"]


def test_every_command_has_help():
    root = typer.main.get_command(app)
    missing = [" ".join(path) or "datakeeper" for path, cmd in _commands(root) if not cmd.help]
    assert missing == [], f"commands without help text: {missing}"


def test_every_help_text_is_in_the_catalog(msgids):
    root = typer.main.get_command(app)
    untranslatable = [
        where
        for path, command in _commands(root)
        for where, text in _help_texts(command, path)
        if text and text not in msgids
    ]
    assert untranslatable == [], (
        "help texts that are not a literal passed to _() (a docstring or a plain "
        f"string stays English): {untranslatable}"
    )


def test_counted_sentences_use_plural_forms(msgids):
    """``{n} change(s)`` cannot be translated per count (nor reads right for 1): such a
    sentence goes through ngettext, which the catalog gives a form for each count."""
    parenthesised = [m for m in msgids if "{" in m and re.search(r"[a-z]\((s|es)\)", m)]
    assert parenthesised == []
