"""The dry run's overlay: declared effects answered first, the real system second."""

from __future__ import annotations

import os
import stat

from datakeeper.engine import state
from datakeeper.engine.effects import (
    AbsentAt,
    DirectoryAt,
    FileAt,
    GroupAt,
    MemberOf,
    MergedInto,
    SymlinkAt,
    UserAt,
)
from datakeeper.engine.planned import PlannedState
from datakeeper.system import accounts


def test_a_home_moved_and_linked_reads_through_the_link_into_the_merged_content(tmp_path):
    home, persistent = tmp_path / "home", tmp_path / "persistent"
    home.mkdir()
    (home / ".condarc").write_text("mine\n")
    planned = PlannedState()
    planned.record(
        [
            DirectoryAt(persistent, "root", "root", 0o750),
            MergedInto(home, persistent),
            AbsentAt(home),
            SymlinkAt(home, str(persistent)),
        ]
    )
    with state.planning_against(planned):
        assert stat.S_ISLNK(state.lstat(home).st_mode)
        assert state.realpath(home / ".condarc") == persistent / ".condarc"
        assert state.on_disk(home / ".condarc") == home / ".condarc"  # still in the SSD home
        assert state.lstat(persistent / ".condarc").st_size == 5
        assert state.lstat(persistent / "absent") is None
    assert not persistent.exists()


def test_a_real_link_leads_into_a_planned_directory(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "target")
    planned = PlannedState()
    planned.record([DirectoryAt(tmp_path / "target" / "sub", "root", "root", 0o700)])
    with state.planning_against(planned):
        info = state.lstat(tmp_path / "link" / "sub")
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700


def test_a_planned_file_has_its_digest_and_nothing_below_it(tmp_path):
    planned = PlannedState()
    planned.record([FileAt(tmp_path / "f", "root", "root", 0o644, "ab" * 32)])
    with state.planning_against(planned):
        assert state.file_digest(tmp_path / "f") == "ab" * 32
        assert state.lstat(tmp_path / "f" / "x") is None


def test_planned_accounts_get_planned_ids_and_memberships(monkeypatch):
    monkeypatch.setattr(accounts, "group_by_name", lambda name: None)
    monkeypatch.setattr(accounts, "user_by_name", lambda name: None)
    monkeypatch.setattr(accounts, "supplementary_groups", lambda user: ())
    planned = PlannedState()
    planned.record(
        [
            GroupAt("gpu", None),
            GroupAt("fixed", 1500),
            UserAt("ann", None, "gpu", ("fixed",), "/home/ann", "/bin/bash", ""),
            MemberOf("ann", "gpu"),
        ]
    )
    with state.planning_against(planned):
        gpu = state.group_by_name("gpu")
        ann = state.user_by_name("ann")
        assert state.is_planned_id(gpu.gid) and state.group_by_name("fixed").gid == 1500
        assert ann.gid == gpu.gid and state.is_planned_id(ann.uid)
        assert state.user_by_uid(ann.uid).name == "ann"
        assert state.supplementary_groups("ann") == ("fixed", "gpu")
        assert state.is_planned_user("ann") and state.password_hash("ann") is None
    assert state.group_by_name("gpu") is None


def test_effects_on_other_paths_leave_the_real_answer_alone(tmp_path):
    (tmp_path / "real").write_text("x")
    planned = PlannedState()
    planned.record([AbsentAt(tmp_path / "other")])
    with state.planning_against(planned):
        assert state.lstat(tmp_path / "real").st_ino == os.lstat(tmp_path / "real").st_ino
        assert state.readlink(tmp_path / "real") is None
