"""A planned change: one sentence for people, one action for the executor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Change:
    """One difference between wanted and actual state, and how to remove it.

    ``summary`` is what a person reads in a plan or a log; it must never hold a
    secret. ``before``/``after`` are the (secret-free) values that differ, for
    ``--json`` diffs. ``action`` performs exactly this change and nothing else.
    """

    resource: str
    summary: str
    action: Callable[[], None] = field(compare=False, repr=False)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able description (no action)."""
        return {
            "resource": self.resource,
            "change": self.summary,
            "before": self.before,
            "after": self.after,
        }
