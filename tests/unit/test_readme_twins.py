"""README.md and its Korean twin README.ko.md stay twins: same two commands at the top,
same sections, same code, linked both ways."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = ROOT / "README.md"
KOREAN = ROOT / "README.ko.md"
FIRST_COMMANDS = ("sudo ./install.sh && sudo datakeeper", "sudo ./scripts/test")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _headings(text: str) -> list[str]:
    outside_code = FENCE.sub("", text)
    return [line.split(" ", 1)[0] for line in outside_code.splitlines() if line.startswith("#")]


def _commands(text: str) -> list[str]:
    """Code lines, prose comments removed (they are translated)."""
    lines = []
    for block in FENCE.findall(text):
        for line in block.splitlines():
            code = line.split(" #", 1)[0].rstrip()
            if code and not code.lstrip().startswith("#"):
                lines.append(code)
    return lines


def test_each_readme_links_the_other():
    assert "[한국어](README.ko.md)" in _text(ENGLISH).split("\n## ", 1)[0]
    assert "[English](README.md)" in _text(KOREAN).split("\n## ", 1)[0]


def test_both_start_with_the_same_two_commands():
    for path in (ENGLISH, KOREAN):
        top = _commands(_text(path).split("\n## ", 2)[1])  # the quick start
        assert [c for c in top if c in FIRST_COMMANDS] == list(FIRST_COMMANDS), path.name


def test_the_same_sections_in_the_same_order():
    assert _headings(_text(KOREAN)) == _headings(_text(ENGLISH))


def test_the_same_commands_in_the_code_blocks():
    english, korean = _commands(_text(ENGLISH)), _commands(_text(KOREAN))
    missing = [line for line in english if line not in korean]
    assert not missing, "README.ko.md lacks these code lines of README.md:\n" + "\n".join(missing)
