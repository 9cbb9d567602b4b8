"""Each status word, mark and counter is written once (``datakeeper.status``,
``WalkReport``): package results, cache cleanups, recovery and fix-permissions read
the same in the CLI and the menu, and ``--json`` keeps its plain values."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from rich.console import Console

from datakeeper.cli import packages_cmd, permissions_cmd
from datakeeper.engine import Outcome
from datakeeper.errors import LockBusyError, RefusedError
from datakeeper.features.caches.report import CleanRun, KindReport
from datakeeper.features.packages import PackageResult
from datakeeper.features.permissions import PermissionsReport
from datakeeper.features.recovery.recover import RecoveryReport
from datakeeper.features.setup.init import StepResult
from datakeeper.resources.tree_permissions import result_sentence
from datakeeper.status import CleanupStatus, InstallStatus, StepStatus
from datakeeper.system.safewalk import WalkReport


@pytest.mark.parametrize(
    ("status", "line"),
    [
        (InstallStatus.INSTALLED, "  ✓ installed"),
        (InstallStatus.ALREADY_INSTALLED, "  · already installed"),
        (InstallStatus.WOULD_INSTALL, "  → would install"),
        (InstallStatus.FAILED, "  ✗ failed: apt-get failed"),
    ],
)
def test_packages_install_prints_one_mark_and_word_per_result(capsys, status, line):
    error = "apt-get failed" if status is InstallStatus.FAILED else None
    packages_cmd._Progress(quiet=False).finished(PackageResult("fzf", status, error=error))
    assert capsys.readouterr().out == line + "\n"


def test_a_package_result_keeps_its_plain_value_in_json():
    result = PackageResult("bat", InstallStatus.WOULD_INSTALL, ["install the OS package bat"])
    assert json.loads(json.dumps(result.as_dict()))["status"] == "would install"
    assert InstallStatus("already installed") is InstallStatus.ALREADY_INSTALLED


def _kind(status: CleanupStatus | None, message: str = "") -> KindReport:
    return KindReport(None, None, status=status, message=message)  # type: ignore[arg-type]


def test_each_cleanup_outcome_has_its_sentence():
    def said(status: CleanupStatus) -> str:
        return status.sentence(removed=3, freed="1.0 KiB", message="why")

    assert [said(status) for status in CleanupStatus] == [
        "removed 3 entries, freed 1.0 KiB",
        "nothing to clean",
        "FAILED after removing 3 entries: why",
        "skipped, another cleanup is running: why",
        "not cleaned: why",
    ]
    assert [s.value for s in CleanupStatus if s.ok] == ["done", "nothing"]


def test_a_cleanup_status_is_read_from_the_error_and_kept_plain_in_json():
    class _Resource:
        id, cleaned = "cache conda", None

    kind = KindReport(None, _Resource())  # type: ignore[arg-type]
    kind.settle(_outcome(LockBusyError("held by pid 7")))
    assert kind.status is CleanupStatus.BUSY
    assert json.dumps({"status": kind.status}) == '{"status": "busy"}'
    kind.settle(_outcome(RefusedError("a link")))
    assert (kind.status, kind.message) == (CleanupStatus.REFUSED, "a link")
    kind.settle(_outcome(OSError("disk")))
    assert kind.status is CleanupStatus.FAILED


def _outcome(error: Exception) -> Outcome:
    outcome = Outcome(dry_run=False)
    outcome.failed.append(("cache conda", error))
    return outcome


def test_only_a_held_lock_makes_a_cleanup_busy():
    def code(*statuses):
        return CleanRun(None, False, [_kind(s) for s in statuses]).exit_code()  # type: ignore[arg-type]

    assert int(code(CleanupStatus.DONE, None, CleanupStatus.NOTHING)) == 0
    assert int(code(CleanupStatus.BUSY, CleanupStatus.DONE)) == 4
    assert int(code(CleanupStatus.BUSY, CleanupStatus.FAILED)) == 1


def test_recovery_counts_users_by_step_status():
    report = RecoveryReport(
        site=[StepResult("ENV", "environment", StepStatus.UNCHANGED)],
        users=[
            StepResult("USER", "bob", StepStatus.CHANGED),
            StepResult("USER", "amy", StepStatus.UNCHANGED),
            StepResult("USER", "carol", StepStatus.FAILED, errors=["uid 1003 is taken"]),
        ],
    )
    assert report.summary() == "1 user recovered, 1 already right, 1 skipped"
    assert [u.title for u in report.skipped] == ["carol"] and not report.ok
    assert json.loads(json.dumps(report.as_dict()))["users"][0]["status"] == "changed"


@pytest.mark.parametrize("dry_run", [False, True])
def test_fix_permissions_shows_every_counter_in_the_walks_order(dry_run):
    tree = WalkReport(counts=Counter({key: 1 for key in WalkReport.COUNTERS}))
    report = PermissionsReport(dry_run=dry_run, trees=[("/data/users/amy", tree)])
    console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=True)
    permissions_cmd._render(console, report)
    rows = [line.strip("│ ") for line in console.file.getvalue().splitlines() if "│" in line]
    assert len(rows) == len(WalkReport.COUNTERS) == 15
    assert rows[0] == "directories                                │ 1"
    assert rows[-1].startswith("could not be changed")
    assert rows[2].startswith("would change" if dry_run else "changed")
    assert rows[7].startswith("symlinks (left alone)")


def test_a_repair_names_every_entry_it_left_alone():
    counts = Counter({key: 2 for key in WalkReport.LEFT_ALONE})
    fixed, left_alone = result_sentence(WalkReport(counts=counts)).split("; left alone: ")
    assert fixed == "fixed 0 entries (owner 0, group 0, mode 0)"
    assert left_alone == (
        "2 symlinks, 2 files with several hard links, 2 FIFOs, sockets or devices, "
        "2 on other filesystems, 2 folders that are not shared, 2 changed while we looked, "
        "2 too deep"
    )


def test_fix_permissions_in_a_pipe_prints_one_tab_separated_line_per_counter():
    tree = WalkReport(counts=Counter({key: 2 for key in WalkReport.COUNTERS}))
    report = PermissionsReport(dry_run=False, trees=[("/data/users/amy", tree)])
    # not a terminal; soft_wrap as stdout_console() has it
    console = Console(file=io.StringIO(), width=40, color_system=None, soft_wrap=True)
    permissions_cmd._render(console, report)
    lines = console.file.getvalue().splitlines()
    assert lines[0] == "/data/users/amy"
    assert lines[1] == "directories\t2"
    assert "│" not in console.file.getvalue()
    assert len([line for line in lines if line.endswith("\t2")]) == 15
