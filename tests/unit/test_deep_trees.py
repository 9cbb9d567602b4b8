"""Root's walks over trees a user nested far deeper than Python's recursion limit and
the open-file limit: no crash, nothing left half done, every entry accounted for.

Each walk runs in a child process whose open-file limit is 64, over a chain of
5000 directories (``tests/support/deep_tree.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from tests.support.deep_tree import DEPTH, build_chain, run_limited

from datakeeper.features.recovery.recover import run_isolated
from datakeeper.features.setup.init import StepResult
from datakeeper.features.setup.steps import Step
from datakeeper.status import StepStatus
from datakeeper.system import home_move, treemerge


@pytest.fixture
def root(tmp_path):
    """A scratch folder, on tmpfs when there is one: 5000 directories are made and
    removed ten times faster there than on a busy disk."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK | os.X_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="datakeeper-deep-", dir=shm))
    yield path
    shutil.rmtree(path)  # shallow by now: the child removed the deep chains


def test_a_merge_of_a_deep_tree_copies_and_rescues_everything(root):
    result = run_limited("merge", root)
    assert result["preview"] == result["merged"]
    assert result["merged"]["rescued"] == ["top"]
    assert result["merged"]["copied"] == 1  # the leaf, at the bottom of the chain
    assert result["rescued_files"] == 1
    assert result["rescued_dirs"] == DEPTH + 2  # rescued/, top/ and the chain below it


def test_an_archive_of_a_deep_home_is_complete_and_leaves_no_partial_copy(root):
    result = run_limited("archive", root)
    assert result["archive"] == ["bob-x"]
    assert result["home_left"] is False
    assert (result["files"], result["directories"]) == (1, DEPTH + 1)


def test_fix_permissions_of_a_deep_tree_reports_what_it_left_too_deep(root):
    result = run_limited("permissions", root)
    for report in (result["survey"], result["fixed"]):
        assert report["counts"]["too_deep"] == 1
        assert report["counts"]["directories"] == 257  # the top and MAX_DEPTH below it
        assert "changed_during_walk" not in report["counts"]
        assert "errors" not in report["counts"]
        assert report["problems"][0].endswith("deeper than 256")


def test_the_cache_cleaner_removes_a_deep_entry_whole(root):
    result = run_limited("helper", root)
    assert result["left"] == [] and result["failed"] == []
    assert result["removed"] == 1  # the leaf file
    assert result["newest_is_finite"]


def test_disk_usage_of_a_deep_tree_counts_every_entry(root):
    result = run_limited("disk", root)
    assert (result["errors"], result["samples"]) == (0, [])
    assert result["entries"] == DEPTH + 2  # the top, the chain, the leaf


def test_a_failed_archive_copy_removes_its_partial_copy_whatever_the_error(tmp_path, monkeypatch):
    home = tmp_path / "home" / "bob"
    build_chain(home, depth=3)
    destination = tmp_path / "backup" / "archive" / "bob-x"
    destination.parent.mkdir(parents=True)

    def crash(src: str, dst: str, *, rescue_name: str, **_progress) -> treemerge.MergeReport:
        (Path(dst) / "half").write_text("copied so far\n")
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(treemerge, "merge_tree", crash)
    with pytest.raises(RecursionError):
        home_move.copy_then_delete(home_move.inspect_home(home), destination)
    assert os.listdir(destination.parent) == [], "no partial copy left"
    assert (home / "d" / "d" / "d" / "leaf").read_text() == "leaf"


class _CrashingSession:
    def converge(self, resources, **_options):
        raise RecursionError("maximum recursion depth exceeded")


class _Reporter:
    def change(self, change, outcome) -> None: ...

    def unchanged(self, resource) -> None: ...


def test_an_unexpected_error_in_a_recovery_step_fails_that_step_only():
    step = Step("USER", "alice", [])
    result = StepResult(step.key, step.title)
    run_isolated(_CrashingSession(), step, result, False, _Reporter())
    assert result.status == StepStatus.FAILED
    assert result.errors == [
        "unexpected error, step skipped: RecursionError: maximum recursion depth exceeded"
    ]
