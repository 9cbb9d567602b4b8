"""The status words and marks both front ends show, written once.

The CLI (``datakeeper check``, ``init`` …) and the menu import them from here,
below both, so a check result, a setup step or a change reads the same
everywhere. Each status is a ``str`` Enum: ``--json`` keeps writing the same
plain values ("PASS", "changed", "planned" …), and comparing with those
strings still works.
"""

from __future__ import annotations

from enum import Enum

from datakeeper.i18n import _, ngettext


class _Word(str, Enum):
    """A str Enum that prints as its value (``f"{status}"`` gives "PASS", not "X.PASS")."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class CheckStatus(_Word):
    """One line of ``datakeeper check``."""

    PASS = "PASS"  # noqa: S105 - a check status, not a password
    FAIL = "FAIL"
    SKIP = "SKIP"
    WARN = "WARN"  # passes, but the admin should know (a privileged group allowed)


class StepStatus(_Word):
    """Where a setup (or recovery) step stands."""

    UNCHANGED = "unchanged"
    CHANGED = "changed"
    PLANNED = "planned"
    FAILED = "failed"
    SKIPPED = "skipped"  # the menu's wizard: the admin passed it by
    NOT_RUN = "not run"

    @property
    def word(self) -> str:
        """What a person reads: "already right", "done", "would change" …"""
        return _step_words()[self]

    @property
    def mark(self) -> str:
        """One character in front of a step's line in a summary."""
        return _STEP_MARKS[self]

    @property
    def finished(self) -> bool:
        """The step is as configured now (whether or not it changed anything)."""
        return self in (StepStatus.CHANGED, StepStatus.UNCHANGED)


class ChangeOutcome(_Word):
    """What became of one planned change (the executor's listener hears one of these)."""

    PLANNED = "planned"
    APPLIED = "applied"
    FAILED = "failed"
    UNDONE = "undone"  # rolled back after a later change of the run failed
    UNDO_FAILED = "undo failed"

    @property
    def mark(self) -> str:
        """One character in front of the change's sentence."""
        return _CHANGE_MARKS[self]


class InstallStatus(_Word):
    """How one package of ``packages install`` went."""

    INSTALLED = "installed"
    ALREADY_INSTALLED = "already installed"
    WOULD_INSTALL = "would install"
    FAILED = "failed"

    @property
    def word(self) -> str:
        """What a person reads (the value, translated)."""
        return _install_words()[self]

    @property
    def mark(self) -> str:
        """One character in front of the package's result line."""
        return _INSTALL_MARKS[self]


class CleanupStatus(_Word):
    """How one cache of a cleanup ended (a dry run has none)."""

    DONE = "done"
    NOTHING = "nothing"
    FAILED = "failed"
    BUSY = "busy"  # another cleanup holds the cache's lock
    REFUSED = "refused"

    @property
    def ok(self) -> bool:
        """The cache is clean now (whether or not anything was removed)."""
        return self in (CleanupStatus.DONE, CleanupStatus.NOTHING)

    def sentence(self, *, removed: int, freed: str, message: str) -> str:
        """``removed 12 entries, freed 3.0 GiB`` and the like, for people."""
        return _cleanup_sentences(removed)[self].format(n=removed, size=freed, message=message)


class NodeStatus(_Word):
    """Where one server sharing ``/data`` stands (``datakeeper node list``)."""

    UP_TO_DATE = "up to date"
    BEHIND = "behind"  # applied an older registry generation
    DRIFT = "drift"  # accounts differ from the registry there
    FAILED = "failed"  # its last sync or recovery had problems
    STALE = "stale"  # no heartbeat for longer than [cluster] stale_after

    def word(self) -> str:
        """The status for people, translated."""
        return _node_words()[self]


def _node_words() -> dict[NodeStatus, str]:
    return {
        NodeStatus.UP_TO_DATE: _("up to date"),
        NodeStatus.BEHIND: _("behind"),
        NodeStatus.DRIFT: _("drift"),
        NodeStatus.FAILED: _("failed"),
        NodeStatus.STALE: _("stale heartbeat"),
    }


def _step_words() -> dict[StepStatus, str]:
    # Translated when shown (not at import), so the catalog loads only when needed.
    return {
        StepStatus.UNCHANGED: _("already right"),
        StepStatus.CHANGED: _("done"),
        StepStatus.PLANNED: _("would change"),
        StepStatus.FAILED: _("FAILED"),
        StepStatus.SKIPPED: _("skipped"),
        StepStatus.NOT_RUN: _("not run"),
    }


def _install_words() -> dict[InstallStatus, str]:
    return {
        InstallStatus.INSTALLED: _("installed"),
        InstallStatus.ALREADY_INSTALLED: _("already installed"),
        InstallStatus.WOULD_INSTALL: _("would install"),
        InstallStatus.FAILED: _("failed"),
    }


def _cleanup_sentences(removed: int) -> dict[CleanupStatus, str]:
    return {
        CleanupStatus.DONE: ngettext(
            "removed {n} entry, freed {size}", "removed {n} entries, freed {size}", removed
        ),
        CleanupStatus.NOTHING: _("nothing to clean"),
        CleanupStatus.FAILED: ngettext(
            "FAILED after removing {n} entry: {message}",
            "FAILED after removing {n} entries: {message}",
            removed,
        ),
        CleanupStatus.BUSY: _("skipped, another cleanup is running: {message}"),
        CleanupStatus.REFUSED: _("not cleaned: {message}"),
    }


_STEP_MARKS = {
    StepStatus.UNCHANGED: "✓",
    StepStatus.CHANGED: "✓",
    StepStatus.PLANNED: "→",
    StepStatus.FAILED: "✗",
    StepStatus.SKIPPED: "-",
    StepStatus.NOT_RUN: " ",
}
_CHANGE_MARKS = {
    ChangeOutcome.PLANNED: "→",
    ChangeOutcome.APPLIED: "✓",
    ChangeOutcome.FAILED: "✗",
    ChangeOutcome.UNDONE: "↶",
    ChangeOutcome.UNDO_FAILED: "✗",
}
UNCHANGED_MARK = "·"  # a resource that is already right: nothing to do
_INSTALL_MARKS = {
    InstallStatus.INSTALLED: _CHANGE_MARKS[ChangeOutcome.APPLIED],
    InstallStatus.ALREADY_INSTALLED: UNCHANGED_MARK,
    InstallStatus.WOULD_INSTALL: _CHANGE_MARKS[ChangeOutcome.PLANNED],
    InstallStatus.FAILED: _CHANGE_MARKS[ChangeOutcome.FAILED],
}
FAILED_MARK = _CHANGE_MARKS[ChangeOutcome.FAILED]
_YES_NO = {True: "✓", False: "✗", None: "-"}


def change_line(summary: str, outcome: str, *, worded: bool = False) -> str:
    """A change as one indented line: "  → create group gpu-users".

    ``worded`` says a planned change with the word "would" instead of the arrow
    (the commands that print each change as it happens, e.g. ``user set``).
    """
    outcome = ChangeOutcome(outcome)
    mark = _("would") if worded and outcome is ChangeOutcome.PLANNED else outcome.mark
    if outcome is ChangeOutcome.UNDONE:
        summary = _("undone: {summary}").format(summary=summary)
    elif outcome is ChangeOutcome.UNDO_FAILED:
        summary = _("could not undo: {summary}").format(summary=summary)
    return f"  {mark} {summary}"


def error_line(error: str) -> str:
    """Something that failed, as one indented line."""
    return f"  {FAILED_MARK} {error}"


def unchanged_line(what: str) -> str:
    """A resource that is already right, as one indented line."""
    return f"  {UNCHANGED_MARK} " + _("{what}: already right").format(what=what)


def note_line(note: str) -> str:
    """A fact the admin should know about a step, as one indented line."""
    return "  " + _("note: {note}").format(note=note)


def yes_no(value: bool | None) -> str:
    """✓, ✗, or - when it could not be told."""
    return _YES_NO[value]
