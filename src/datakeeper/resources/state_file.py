"""A file of datakeeper's own state, rewritten whole: a marker, a last-run record."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.resources.ownership import lstat_or_none
from datakeeper.system.fs import atomic_write, read_nofollow


@dataclass(frozen=True)
class StateFile(Resource):
    """``path`` holds ``content`` with ``mode``, owned by the user datakeeper runs as.

    Only for folders nobody else writes (the state directory, ``/run/datakeeper``):
    whatever the file held is replaced atomically, without a manifest. A missing
    folder is created with ``folder_mode``. ``summary`` says what writing it means
    (e.g. "mark recovery as done"), for the plan and the action log.
    """

    path: Path
    content: bytes
    mode: int
    summary: str
    folder_mode: int = 0o755

    @property
    def id(self) -> str:
        return f"file {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        if self._current():
            return []
        return [Change(self.id, self.summary, self._write, None, {"path": str(self.path)})]

    def _current(self) -> bool:
        info = lstat_or_none(self.path)
        if info is None or not stat.S_ISREG(info.st_mode):
            return False
        owned = info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) == self.mode
        return owned and read_nofollow(self.path) == self.content

    def _write(self) -> None:
        self.path.parent.mkdir(mode=self.folder_mode, parents=True, exist_ok=True)
        atomic_write(self.path, self.content, mode=self.mode, uid=os.geteuid(), gid=os.getegid())
