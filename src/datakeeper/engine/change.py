"""A planned change: one sentence for people, one action for the executor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from datakeeper.engine.effects import Effect
from datakeeper.text import printable


@dataclass(frozen=True)
class Result:
    """What an applied change did beyond its summary (e.g. what a merge rescued and
    skipped), for the output and the action log; never a secret."""

    detail: str


@dataclass(frozen=True)
class Change:
    """One difference between wanted and actual state, and how to remove it.

    ``summary`` is what a person reads in a plan or a log; it must never hold a
    secret. ``before``/``after`` are the (secret-free) values that differ, for
    ``--json`` diffs. ``action`` performs exactly this change and nothing else;
    it may return a ``Result``, which the executor keeps as ``result``.
    ``undo``, on changes that create something (a group, an account, an empty
    directory, a registry record), removes exactly that again: the executor
    calls it when a later change of a run that asked for rollback fails.
    ``effects`` is the state the change leaves behind, so that a dry run plans
    the resources after it against that state. ``operation`` names what the
    change does (``lock``, ``enable``) where its shape does not say it;
    ``code`` is set by the executor (``engine.codes``): the stable,
    language-neutral ``<kind>.<operation>`` the action log and ``--json`` keep.
    """

    resource: str
    summary: str
    action: Callable[[], Result | None] = field(compare=False, repr=False)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    effects: tuple[Effect, ...] = field(default=(), compare=False, repr=False)
    result: str | None = None  # set on the applied copy: what the action reported
    undo: Callable[[], None] | None = field(default=None, compare=False, repr=False)
    operation: str | None = None
    code: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Sentences embed names other users chose (files, processes): escape their
        # control characters once here, for every output (CLI, menu, --json, log).
        object.__setattr__(self, "summary", printable(self.summary))
        if self.result is not None:
            object.__setattr__(self, "result", printable(self.result, keep="\n"))

    def as_dict(self) -> dict[str, Any]:
        """JSON-able description (no action)."""
        found = {
            "code": self.code,
            "resource": self.resource,
            "change": self.summary,
            "before": self.before,
            "after": self.after,
        }
        if self.result is not None:
            found["result"] = self.result
        return found
