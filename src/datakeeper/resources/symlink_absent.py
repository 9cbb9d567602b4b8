"""A link datakeeper made is gone (e.g. ``/home/NAME`` -> the persistent home).

Only a symlink that points where datakeeper pointed it is removed: a real
directory, or a link someone pointed elsewhere, is left as it is and reported.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datakeeper.engine.change import Change
from datakeeper.engine.effects import AbsentAt
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _


@dataclass(frozen=True)
class LinkState:
    """What is at ``path``: ``missing``, ``link`` (to the expected target), ``foreign
    link`` (elsewhere), ``directory`` or ``other``."""

    path: Path
    kind: str
    target: str | None = None  # the link's text, for either kind of link

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"path": str(self.path), "kind": self.kind}
        if self.target is not None:
            found["target"] = self.target
        return found


def link_state(link: Path, expected: Path) -> LinkState:
    """What ``link`` is now, compared with a symlink to ``expected`` (never followed)."""
    try:
        info = os.lstat(link)
    except FileNotFoundError:
        return LinkState(link, "missing")
    if not stat.S_ISLNK(info.st_mode):
        return LinkState(link, "directory" if stat.S_ISDIR(info.st_mode) else "other")
    target = os.readlink(link)
    ours = os.path.normpath(os.path.join(link.parent, target)) == os.path.normpath(expected)
    return LinkState(link, "link" if ours else "foreign link", target)


@dataclass(frozen=True)
class SymlinkAbsent(Resource):
    """No symlink ``path`` -> ``target``; anything else at ``path`` stays untouched."""

    path: Path
    target: Path

    @property
    def id(self) -> str:
        return f"symlink {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        state = link_state(self.path, self.target)
        if state.kind != "link":
            return []
        summary = _("remove the link {link} -> {target}").format(
            link=self.path, target=state.target
        )
        return [
            Change(self.id, summary, lambda: os.unlink(self.path), state.as_dict(), None,
                   effects=(AbsentAt(self.path),))
        ]  # fmt: skip
