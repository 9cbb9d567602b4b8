"""Check sudoers syntax and the whole sudo policy with ``visudo``."""

from __future__ import annotations

from pathlib import Path

from datakeeper.system import commands


def check_file(path: Path) -> None:
    """Syntax-check one file in strict mode; raises ``CommandFailed`` when invalid."""
    commands.run(["visudo", "--check", "--strict", "--file", str(path)])


def check_policy() -> None:
    """Check the installed policy: every included file, with owners and modes."""
    commands.run(["visudo", "--check"])
