"""The executor: order, keep_going, the storage guard, callbacks, the recorder, and dry
runs planned against the state the changes before would leave. Fake resources, no root."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from datakeeper.engine import Change, Executor, Resource, Result, state
from datakeeper.engine.effects import AbsentAt, DirectoryAt, SymlinkAt
from datakeeper.engine.planned import PlannedState
from datakeeper.errors import ActionFailedError, ConflictError, RefusedError


@dataclass(eq=False)
class Fake(Resource):
    """Plans ``count`` changes whose actions append to ``log``; ``fail`` raises in plan."""

    name: str
    log: list[str]
    count: int = 1
    fail: bool = False
    paths: tuple[Path, ...] = ()
    result: str | None = None

    @property
    def id(self) -> str:
        return f"fake {self.name}"

    def touches(self) -> tuple[Path, ...]:
        return self.paths

    def plan(self) -> list[Change]:
        self.log.append(f"plan {self.name}")
        if self.fail:
            raise ConflictError(f"{self.name} conflicts")
        return [Change(self.id, f"change {self.name} #{i}", self._act) for i in range(self.count)]

    def _act(self) -> Result | None:
        self.log.append(f"apply {self.name}")
        return Result(self.result) if self.result else None


@dataclass(frozen=True)
class MoveAside(Resource):
    """A real directory at ``path`` is renamed to ``aside`` (what HomeMigration does)."""

    path: Path
    aside: Path

    @property
    def id(self) -> str:
        return f"move {self.path}"

    def plan(self) -> list[Change]:
        info = state.lstat(self.path)
        if info is None or not stat.S_ISDIR(info.st_mode):
            return []
        action = lambda: os.rename(self.path, self.aside)  # noqa: E731
        return [Change(self.id, f"move {self.path} aside", action, effects=(AbsentAt(self.path),))]


@dataclass(frozen=True)
class Link(Resource):
    """``path`` is a symlink to ``target``; anything else there is a conflict."""

    path: Path
    target: Path

    @property
    def id(self) -> str:
        return f"link {self.path}"

    def plan(self) -> list[Change]:
        info = state.lstat(self.path)
        if info is not None and not stat.S_ISLNK(info.st_mode):
            raise ConflictError(f"{self.path} exists and is not a symlink")
        if state.readlink(self.path) == str(self.target):
            return []
        action = lambda: os.symlink(self.target, self.path)  # noqa: E731
        effects = (SymlinkAt(self.path, str(self.target)),)
        return [Change(self.id, f"link {self.path}", action, effects=effects)]


@dataclass(frozen=True)
class Dir(Resource):
    """Directory ``path`` exists (its parent must exist when applied)."""

    path: Path

    @property
    def id(self) -> str:
        return f"dir {self.path}"

    def plan(self) -> list[Change]:
        if state.lstat(self.path) is not None:
            return []
        if state.lstat(self.path.parent) is None:
            raise ConflictError(f"{self.path.parent} does not exist")
        effects = (DirectoryAt(self.path, "root", "root", 0o755),)
        return [Change(self.id, f"mkdir {self.path}", lambda: self.path.mkdir(), effects=effects)]


@dataclass
class Calls:
    changes: list[tuple[str, str]] = field(default_factory=list)
    recorded: list[tuple[str, str, str | None]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def executor(self, **options) -> Executor:
        return Executor(
            on_change=lambda c, o: self.changes.append((c.summary, o)),
            record=lambda c, o: self.recorded.append((c.summary, o, c.result)),
            on_unchanged=lambda r: self.unchanged.append(r.id),
            **options,
        )


def tree(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: kind, mode and link target, to prove nothing changed."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        target = os.readlink(path) if path.is_symlink() else None
        found[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode), info.st_mode, target)
    return found


# -- order, keep_going -------------------------------------------------------------


def test_resources_are_planned_then_applied_one_after_the_other():
    log: list[str] = []
    outcome = Executor().converge([Fake("a", log), Fake("b", log, count=2)])
    assert log == ["plan a", "apply a", "plan b", "apply b", "apply b"]
    assert [c.summary for c in outcome.applied] == ["change a #0", "change b #0", "change b #1"]
    assert outcome.ok and outcome.changed


def test_keep_going_records_a_failure_and_still_converges_the_next():
    log: list[str] = []
    outcome = Executor(keep_going=True).converge([Fake("bad", log, fail=True), Fake("b", log)])
    assert [(name, str(error)) for name, error in outcome.failed] == [("fake bad", "bad conflicts")]
    assert "apply b" in log
    assert not outcome.ok


def test_without_keep_going_the_first_failure_propagates_and_nothing_after_runs():
    log: list[str] = []
    with pytest.raises(ConflictError, match="bad conflicts"):
        Executor().converge([Fake("a", log), Fake("bad", log, fail=True), Fake("c", log)])
    assert log == ["plan a", "apply a", "plan bad"]


def test_an_action_failing_with_os_error_is_an_action_failed_error_naming_the_change(tmp_path):
    calls = Calls()
    missing = Dir(tmp_path / "no" / "such")
    broken = Change("dir", "mkdir deep", lambda: missing.path.mkdir())

    class Broken(Fake):
        def plan(self) -> list[Change]:
            return [broken]

    with pytest.raises(ActionFailedError, match="mkdir deep: failed"):
        calls.executor().converge([Broken("x", [])])
    assert calls.changes == [("mkdir deep", "failed")]
    assert calls.recorded == [("mkdir deep", "failed", None)]


# -- the storage guard -------------------------------------------------------------


def test_the_guard_sees_every_path_of_every_resource_once_before_anything_is_planned():
    log: list[str] = []
    seen: list[list[Path]] = []

    def guard(paths):
        seen.append(list(paths))
        log.append("guard")

    resources = [
        Fake("a", log, paths=(Path("/data/a"),)),
        Fake("b", log, paths=(Path("/data/b"), Path("/data/c"))),
    ]
    Executor(guard=guard).converge(resources)
    assert seen == [[Path("/data/a"), Path("/data/b"), Path("/data/c")]]
    assert log[0] == "guard"


def test_a_refusing_guard_means_nothing_is_planned_or_applied():
    log: list[str] = []

    def guard(paths):
        raise RefusedError("/data is not a mount point")

    with pytest.raises(RefusedError):
        Executor(guard=guard, keep_going=True).converge([Fake("a", log), Fake("b", log)])
    assert log == []


# -- callbacks and the recorder ----------------------------------------------------


def test_on_unchanged_is_called_only_for_resources_that_plan_nothing():
    calls = Calls()
    calls.executor().converge([Fake("same", [], count=0), Fake("differs", [])])
    assert calls.unchanged == ["fake same"]


def test_a_dry_run_notifies_planned_records_nothing_and_applies_nothing():
    calls, log = Calls(), []
    outcome = calls.executor(dry_run=True).converge([Fake("a", log), Fake("b", log)])
    assert calls.changes == [("change a #0", "planned"), ("change b #0", "planned")]
    assert calls.recorded == []
    assert [c.summary for c in outcome.planned] == ["change a #0", "change b #0"]
    assert outcome.applied == [] and not any(entry.startswith("apply") for entry in log)
    assert outcome.as_dict()["dry_run"] is True


def test_applied_changes_are_recorded_with_what_their_action_reported():
    calls = Calls()
    outcome = calls.executor().converge(
        [Fake("merge", [], result="2 conflicts kept under rescued-1/"), Fake("plain", [])]
    )
    assert calls.recorded == [
        ("change merge #0", "applied", "2 conflicts kept under rescued-1/"),
        ("change plain #0", "applied", None),
    ]
    assert calls.changes == [("change merge #0", "applied"), ("change plain #0", "applied")]
    assert outcome.as_dict()["applied"][0]["result"] == "2 conflicts kept under rescued-1/"
    assert "result" not in outcome.as_dict()["applied"][1]


# -- dry runs plan against the state earlier changes leave -------------------------


def test_a_dry_run_plans_a_link_where_an_earlier_change_moves_a_directory_aside(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    resources = [MoveAside(home, tmp_path / "old-home"), Link(home, tmp_path / "persistent")]
    before = tree(tmp_path)

    outcome = Executor(dry_run=True).converge(resources)

    assert [c.summary for c in outcome.planned] == [f"move {home} aside", f"link {home}"]
    assert tree(tmp_path) == before
    with pytest.raises(ConflictError, match="not a symlink"):
        Executor().plan(resources)  # planned against the state now, the link conflicts


def test_the_real_run_does_what_its_dry_run_showed(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    resources = [MoveAside(home, tmp_path / "old-home"), Link(home, tmp_path / "persistent")]
    planned = Executor(dry_run=True).converge(resources).planned
    applied = Executor().converge(resources).applied
    assert [c.summary for c in applied] == [c.summary for c in planned]
    assert os.readlink(home) == str(tmp_path / "persistent")
    assert Executor(dry_run=True).converge(resources).planned == []


def test_a_dry_run_plans_a_directory_inside_one_planned_before_it(tmp_path):
    resources = [Dir(tmp_path / "a"), Dir(tmp_path / "a" / "b"), Dir(tmp_path / "a")]
    outcome = Executor(dry_run=True).converge(resources)
    assert [c.summary for c in outcome.planned] == [
        f"mkdir {tmp_path / 'a'}",
        f"mkdir {tmp_path / 'a' / 'b'}",
    ]
    assert list(tmp_path.iterdir()) == []


def test_executors_sharing_a_planned_state_see_each_others_changes(tmp_path):
    """One session, several steps: each step plans against the steps before it."""
    planned = PlannedState()
    Executor(dry_run=True, planned=planned).converge([Dir(tmp_path / "a")])
    second = Executor(dry_run=True, planned=planned).converge([Dir(tmp_path / "a" / "b")])
    assert [c.summary for c in second.planned] == [f"mkdir {tmp_path / 'a' / 'b'}"]
    fresh = Executor(dry_run=True, keep_going=True).converge([Dir(tmp_path / "a" / "b")])
    assert [str(error) for _r, error in fresh.failed] == [f"{tmp_path / 'a'} does not exist"]


def test_outside_a_dry_run_the_read_layer_reads_the_system(tmp_path):
    planned = PlannedState()
    planned.record([AbsentAt(tmp_path)])
    assert state.lstat(tmp_path) is not None
    with state.planning_against(planned):
        assert state.lstat(tmp_path) is None
    assert state.lstat(tmp_path) is not None


# -- rollback ------------------------------------------------------------------------


@dataclass(eq=False)
class Creates(Resource):
    """Creates ``name`` (appended to ``made``); its change can undo that, unless
    ``undo_fails``; with ``fail`` it conflicts at plan time instead."""

    name: str
    made: list[str]
    fail: bool = False
    undo_fails: bool = False
    undoable: bool = True

    @property
    def id(self) -> str:
        return f"creates {self.name}"

    def plan(self) -> list[Change]:
        if self.fail:
            raise ConflictError(f"{self.name} conflicts")
        undo = self._undo if self.undoable else None
        return [Change(self.id, f"create {self.name}", self._make, undo=undo)]

    def _make(self) -> None:
        self.made.append(self.name)

    def _undo(self) -> None:
        if self.undo_fails:
            raise OSError(f"cannot remove {self.name}")
        self.made.remove(self.name)


def test_rollback_undoes_what_the_run_created_newest_first_then_raises():
    made: list[str] = []
    calls = Calls()
    resources = [Creates("group", made), Creates("account", made), Creates("home", made, fail=True)]
    with pytest.raises(ConflictError, match="home conflicts"):
        calls.executor(rollback=True).converge(resources)
    assert made == []
    assert calls.changes[-2:] == [("create account", "undone"), ("create group", "undone")]
    assert calls.recorded[-2:] == [
        ("create account", "undone", None),
        ("create group", "undone", None),
    ]


def test_without_rollback_a_failure_leaves_what_was_created():
    made: list[str] = []
    with pytest.raises(ConflictError):
        Executor().converge([Creates("group", made), Creates("home", made, fail=True)])
    assert made == ["group"]


def test_rollback_goes_on_past_an_undo_that_fails_and_skips_changes_without_undo():
    made: list[str] = []
    calls = Calls()
    resources = [
        Creates("group", made),
        Creates("file", made, undoable=False),
        Creates("account", made, undo_fails=True),
        Creates("home", made, fail=True),
    ]
    with pytest.raises(ConflictError):
        calls.executor(rollback=True).converge(resources)
    assert made == ["file", "account"]
    assert calls.changes[-2:] == [("create account", "undo failed"), ("create group", "undone")]


def test_rollback_also_follows_an_unexpected_exception():
    made: list[str] = []

    @dataclass(eq=False)
    class Broken(Resource):
        @property
        def id(self) -> str:
            return "broken"

        def plan(self) -> list[Change]:
            raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        Executor(rollback=True).converge([Creates("group", made), Broken()])
    assert made == []


def test_keep_going_and_dry_runs_never_roll_back():
    made: list[str] = []
    outcome = Executor(rollback=True, keep_going=True).converge(
        [Creates("group", made), Creates("home", made, fail=True)]
    )
    assert made == ["group"] and [r for r, _e in outcome.failed] == ["creates home"]
    with pytest.raises(ConflictError):
        Executor(rollback=True, dry_run=True).converge(
            [Creates("account", made), Creates("home", made, fail=True)]
        )
    assert made == ["group"]
