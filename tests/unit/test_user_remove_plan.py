"""The removal confirmation lists exactly the engine's dry-run plan (accounts faked, no root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datakeeper import storage
from datakeeper.config import parse_config
from datakeeper.features.users.remove import plan as removal_plan
from datakeeper.features.users.remove import preview as removal_preview
from datakeeper.features.users.remove import request as remove_request
from datakeeper.features.users.remove.plan import plan_removal
from datakeeper.features.users.remove.preview import preview_removal
from datakeeper.features.users.remove.removal import remove_user
from datakeeper.features.users.remove.request import RemoveRequest
from datakeeper.registry import RegistryEntry, open_registry
from datakeeper.system import accounts, activity
from datakeeper.system.accounts import GroupInfo, UserInfo

UID = os.getuid() or 1001  # as root the home is given to 1001; otherwise it is ours


@pytest.fixture
def site(tmp_path: Path, monkeypatch):
    """bob: an account with a crontab, an at job, a home of 2 files and a /home link."""
    users = {
        "bob": UserInfo("bob", UID, UID, "", "/home/bob", "/bin/bash"),
        "root": UserInfo("root", 0, 0, "", "/root", "/bin/bash"),
    }
    groups = {UID: GroupInfo("bob", UID, ()), 0: GroupInfo("root", 0, ())}
    monkeypatch.setattr(accounts, "user_by_name", users.get)
    monkeypatch.setattr(accounts, "group_by_gid", groups.get)
    monkeypatch.setattr(accounts, "group_by_name", {g.name: g for g in groups.values()}.get)
    monkeypatch.setattr(accounts, "supplementary_groups", lambda name: ("gpu-users",))
    monkeypatch.setattr(accounts, "primary_users", lambda gid: ("bob",))
    monkeypatch.setattr(remove_request.logindefs, "uid_min", lambda: 1000 if UID >= 1000 else 0)
    monkeypatch.setattr(activity, "login_sessions", lambda name: [])
    monkeypatch.setattr(activity, "user_processes", lambda uid: [])
    monkeypatch.setattr(activity, "has_crontab", lambda name: True)
    monkeypatch.setattr(activity, "at_jobs", lambda name: ["7"])
    monkeypatch.setattr(storage, "ensure_persistent", lambda root: None)  # tmp is no mount
    monkeypatch.delenv("SUDO_USER", raising=False)
    home_root = tmp_path / "home"
    monkeypatch.setattr(removal_plan, "HOME_ROOT", home_root)
    monkeypatch.setattr(removal_preview, "HOME_ROOT", home_root)
    return _site(tmp_path, home_root)


def _site(tmp_path: Path, home_root: Path):
    (tmp_path / "backup").mkdir()
    text = (
        f'admin = "admin"\n[storage]\ndata_root = "{tmp_path}/data"\n'
        f'backup_root = "{tmp_path}/backup"\n'
    )
    cfg = parse_config(text, "test")
    home = cfg.users_dir / "bob"
    (home / "proj").mkdir(parents=True)
    (home / "proj" / "w.pt").write_bytes(b"w" * 5000)
    (home / "notes.txt").write_text("hello\n")
    if os.getuid() == 0:
        for path in (home, home / "proj"):
            os.chown(path, UID, UID)
    home_root.mkdir()
    (home_root / "bob").symlink_to(home)
    cfg.state_dir.mkdir(parents=True)
    with open_registry(cfg.registry_path) as registry:
        registry.upsert(RegistryEntry(name="bob", uid=UID, gid=UID, primary_group="bob"))
    return cfg


@pytest.mark.parametrize("data", ["keep", "archive", "purge"])
def test_the_confirmation_lists_exactly_the_dry_run_plan(site, tmp_path, data):
    request = RemoveRequest("bob", data, stamp="20240101-120000")
    preview = preview_removal(site, request)
    shown = plan_removal(site, request, preview)
    dry_run = remove_user(site, request, preview, dry_run=True)
    sentences = [change.summary for change in dry_run.planned]
    assert [change.summary for change in shown.changes] == sentences
    assert shown.lines() == [*preview.lines(), "Changes:", *(f"  - {s}" for s in sentences)]
    assert sentences[0] == "lock and expire account bob (no new logins during the removal)"
    assert sentences[-1].startswith(f"delete account bob (uid {UID}) and its private group bob")
    assert "remove the crontab of bob" in sentences and "remove 1 at job of bob: 7" in sentences
    assert f"remove the link {tmp_path}/home/bob -> {site.users_dir}/bob" in sentences


def test_keep_plans_no_change_to_the_data(site):
    request = RemoveRequest("bob")
    shown = plan_removal(site, request, preview_removal(site, request))
    sentences = [change.summary for change in shown.changes]
    assert not [s for s in sentences if str(site.users_dir / "bob") in s and "link" not in s]
    assert "forget bob in the registry (recovery will not recreate it)" in sentences
    assert shown.preview.lines()[-1].endswith(
        f"kept at {site.users_dir}/bob, owned by the old uid {UID}"
    )


def test_archive_and_purge_name_what_happens_to_the_data(site):
    home = site.users_dir / "bob"
    archive = RemoveRequest("bob", "archive", stamp="20240101-120000")
    sentences = [
        c.summary for c in plan_removal(site, archive, preview_removal(site, archive)).changes
    ]
    destination = site.storage.backup_root / "archive" / "bob-20240101-120000"
    assert f"archive {home} to {destination} (rename, same filesystem)" in sentences
    purge = RemoveRequest("bob", "purge")
    sentences = [c.summary for c in plan_removal(site, purge, preview_removal(site, purge)).changes]
    assert [s for s in sentences if s.startswith(f"DELETE {home} (2 files, ")] != []


def test_ending_sessions_is_planned_only_when_asked(site, monkeypatch):
    running = [activity.UserProcess(42, "sleep", "sleep 300")]
    monkeypatch.setattr(activity, "user_processes", lambda uid: running)
    request = RemoveRequest("bob")
    preview = preview_removal(site, request)
    assert preview.busy
    planned = [c.summary for c in plan_removal(site, request, preview).changes]
    assert not [s for s in planned if s.startswith("end ")]
    request = RemoveRequest("bob", kill_sessions=True)
    planned = [c.summary for c in plan_removal(site, request, preview).changes]
    assert "end 1 process of bob (SIGTERM, then SIGKILL after 5 s): 42 sleep" in planned


def test_planning_changes_nothing(site, tmp_path):
    home, link = site.users_dir / "bob", tmp_path / "home" / "bob"
    before = sorted(os.listdir(home)), os.readlink(link)
    for data in ("archive", "purge"):
        request = RemoveRequest("bob", data)
        plan_removal(site, request, preview_removal(site, request))
    assert (sorted(os.listdir(home)), os.readlink(link)) == before
    assert not (site.storage.backup_root / "archive").exists()
