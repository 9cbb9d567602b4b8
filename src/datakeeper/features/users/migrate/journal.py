"""The journal of a home migration: what the home was, what moves, which steps ran.

It lives on the data disk, in a root-only folder under the state directory
(``migrations/``, 0700, files 0600): never in ``/tmp``, which anyone can
write and which a reboot empties. Every write replaces the whole file
atomically (``system.fs.atomic_write``), so a run killed at any instant leaves
the previous version or the next one, never half of one. A step is marked
``started`` before it acts and ``done`` after; the system itself shows
whether a step that was only started took effect, so the journal never has
to be trusted for that, only for what the home looked like before.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.errors import RefusedError
from datakeeper.i18n import _
from datakeeper.system.fs import atomic_write

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

FORMAT = 1
FOLDER = "migrations"
# States: running (steps under way, or killed), failed (verify found differences),
# verified (the new layout is in place), rolling-back (a rollback under way, or
# killed), rolled-back (back to the old layout).
RUNNING, FAILED, VERIFIED = "running", "failed", "verified"
ROLLING_BACK, ROLLED_BACK = "rolling-back", "rolled-back"


@dataclass(frozen=True)
class HomeBefore:
    """The login home before the migration: a link (and its target) or a directory
    (moved aside to ``aside`` while the link layout is in place)."""

    kind: str  # "symlink" | "directory"
    target: str | None = None
    aside: str | None = None


@dataclass(frozen=True)
class FolderBefore:
    """The persistent ``dotfiles`` folder before: whether it existed, and its owner and mode."""

    existed: bool
    uid: int = 0
    gid: int = 0
    mode: int = 0o700
    remove: bool = False  # the link layout has none: removed once emptied


@dataclass
class Journal:
    """One user's migration. ``path`` is where it is kept; the rest is its content."""

    path: Path
    user: str
    uid: int
    source: str  # the layout before: "link" | "hybrid"
    target: str
    stamp: str
    home: HomeBefore
    folder: FolderBefore
    moves: list[tuple[str, str]] = field(default_factory=list)  # (from, to), absolute
    # Folders the new layout makes that were not there (hybrid: ~/conda's, .ssh):
    # a rollback removes them again while they are empty.
    created: list[str] = field(default_factory=list)
    dotfiles: list[str] = field(default_factory=list)  # [home] dotfiles when it began
    state: str = RUNNING
    steps: dict[str, str] = field(default_factory=dict)
    verify: dict[str, Any] | None = None

    def mark(self, key: str, status: str) -> None:
        """Record a step's status and save at once (before and after each step)."""
        self.steps[key] = status
        self.save()

    def finish(self, state: str, verify: dict[str, Any] | None = None) -> None:
        """Record the migration's state (and the verify counts) and save."""
        self.state = state
        if verify is not None:
            self.verify = verify
        self.save()

    @property
    def manifest_path(self) -> Path:
        """The tree as it was before the first step: what verify compares with."""
        return self.path.with_name(f"{self.user}.manifest.json")

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found.pop("path")
        found["format"] = FORMAT
        found["moves"] = [list(pair) for pair in self.moves]
        return found

    def save(self) -> None:
        """Write the journal atomically, readable by its owner (root) only."""
        text = json.dumps(self.as_dict(), indent=1, sort_keys=True) + "\n"
        atomic_write(self.path, text.encode(), mode=0o600)


def journal_folder(cfg: SiteConfig) -> Path:
    """``<state_dir>/migrations``, made 0700 when missing; refused when it is not a real
    directory owned by us (root) with no access for others."""
    folder = cfg.state_dir / FOLDER
    cfg.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    info = os.lstat(folder)
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or stat.S_IMODE(info.st_mode) & 0o077
    ):
        raise RefusedError(
            _(
                "{path} must be a directory owned by root with mode 0700; fix it and run again"
            ).format(path=folder)
        )
    return folder


def journal_path(cfg: SiteConfig, name: str) -> Path:
    """Where ``name``'s journal is kept (read-only: makes nothing)."""
    return cfg.state_dir / FOLDER / f"{name}.json"


def load_journal(cfg: SiteConfig, name: str) -> Journal | None:
    """``name``'s journal, or None when there is none."""
    path = journal_path(cfg, name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        data = json.loads(handle.read())
    return journal_from_dict(path, data)


def journal_from_dict(path: Path, data: dict[str, Any]) -> Journal:
    """A journal read back from its JSON form."""
    return Journal(
        path=path,
        user=data["user"],
        uid=data["uid"],
        source=data["source"],
        target=data["target"],
        stamp=data["stamp"],
        home=HomeBefore(**data["home"]),
        folder=FolderBefore(**data["folder"]),
        moves=[(a, b) for a, b in data["moves"]],
        created=list(data.get("created", [])),
        dotfiles=list(data.get("dotfiles", [])),
        state=data["state"],
        steps=dict(data["steps"]),
        verify=data.get("verify"),
    )
