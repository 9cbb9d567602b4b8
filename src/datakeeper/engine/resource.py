"""The resource contract: ``plan()`` only reads; its changes carry the actions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from datakeeper.engine.change import Change


class Resource(ABC):
    """Something on the system with a wanted state (a group, a directory, a file…)."""

    # The first half of the action log's stable code (``account`` in
    # ``account.create``); empty: the class name in snake case (``engine.codes``).
    # Set it to keep the code when the class is renamed.
    code_kind: ClassVar[str] = ""

    @property
    @abstractmethod
    def id(self) -> str:
        """Short name shown to people, e.g. ``directory /data/models``."""

    @abstractmethod
    def plan(self) -> list[Change]:
        """Compare wanted with actual state; return the changes, reading only.

        Raises ``ConflictError`` when the actual state must not be changed
        without a person deciding (an id held by someone else, a symlink where
        a directory should be, a file datakeeper did not write).
        """

    def touches(self) -> tuple[Path, ...]:
        """Paths this resource may write, so the storage guard can check them first."""
        return ()
