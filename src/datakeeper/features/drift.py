"""Whether resources are in their wanted state, read from their own plans.

The status commands (``recovery status``, ``disk alert status``) show the
same answer ``check`` gives and the same plan ``enable`` would apply: a file
is current when planning its resource changes nothing; no content is compared
by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datakeeper.engine import Resource
from datakeeper.errors import DatakeeperError
from datakeeper.resources.absent import Absent
from datakeeper.resources.file import ManagedFile


@dataclass(frozen=True)
class FileState:
    """One file a command writes: whether it exists, and whether it is as wanted."""

    path: Path
    present: bool
    current: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (for --json)."""
        return {"path": str(self.path), "present": self.present, "current": self.current}


def converged(resource: Resource) -> bool:
    """True when ``resource`` plans nothing; a conflict (someone else's file) is drift."""
    try:
        return not resource.plan()
    except DatakeeperError:
        return False


def file_states(resources: Iterable[Resource]) -> list[FileState]:
    """The state of each file among ``resources`` (wanted files and files to be gone)."""
    return [
        FileState(r.path, os.path.lexists(r.path), converged(r))
        for r in resources
        if isinstance(r, ManagedFile | Absent)
    ]
