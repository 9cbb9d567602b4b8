"""``user remove`` refusals and planning, with the system faked (no root needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import ConflictError, InvalidInputError, RefusedError
from datakeeper.features.users.remove import home_data as data
from datakeeper.features.users.remove import plan as removal_plan
from datakeeper.features.users.remove import preview as user_remove
from datakeeper.features.users.remove import request as remove_request
from datakeeper.features.users.remove.request import RemoveRequest, Target, check_request
from datakeeper.registry import RegistryEntry, open_registry
from datakeeper.resources import account_absent
from datakeeper.resources.symlink_absent import LinkState, SymlinkAbsent, link_state
from datakeeper.resources.unregistered import Unregistered
from datakeeper.system import accounts, home_move, safe_delete
from datakeeper.system.accounts import GroupInfo, UserInfo
from datakeeper.system.activity import UserProcess

USERS = {
    "bob": UserInfo("bob", 1001, 1001, "", "/home/bob", "/bin/bash"),
    "boss": UserInfo("boss", 1000, 1000, "", "/home/boss", "/bin/bash"),
    "root": UserInfo("root", 0, 0, "", "/root", "/bin/bash"),
    "svc": UserInfo("svc", 120, 120, "", "/var/lib/svc", "/usr/sbin/nologin"),
}


@pytest.fixture
def cfg(tmp_path: Path):
    (tmp_path / "backup").mkdir()
    text = (
        f'admin = "boss"\n[storage]\ndata_root = "{tmp_path}/data"\n'
        f'backup_root = "{tmp_path}/backup"\n'
    )
    return parse_config(text, "test")


@pytest.fixture(autouse=True)
def fake_accounts(monkeypatch):
    monkeypatch.setattr(accounts, "user_by_name", USERS.get)
    monkeypatch.setattr(remove_request.logindefs, "uid_min", lambda: 1000)
    monkeypatch.delenv("SUDO_USER", raising=False)


BAD_NAMES = ["Bob", "1bob", "-bob", "b.b", "..", "a/b", "b b", "a;id", "$(id)", "`id`", "a" * 33]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_unsafe_names_are_refused_as_invalid_input(cfg, name):
    with pytest.raises(InvalidInputError, match="user name"):
        check_request(cfg, RemoveRequest(name))


def test_unknown_user_is_invalid_input(cfg):
    with pytest.raises(InvalidInputError, match="no such account and not in the registry"):
        check_request(cfg, RemoveRequest("nobody-here"))


def test_root_is_refused(cfg):
    with pytest.raises(RefusedError, match="refusing to remove root"):
        check_request(cfg, RemoveRequest("root"))


def test_the_site_admin_is_refused(cfg):
    with pytest.raises(RefusedError, match="site admin"):
        check_request(cfg, RemoveRequest("boss"))


def test_a_system_account_is_refused(cfg):
    with pytest.raises(RefusedError, match=r"system account \(uid 120\)"):
        check_request(cfg, RemoveRequest("svc"))


def test_removing_the_account_you_sudo_from_is_refused(cfg, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "bob")
    with pytest.raises(RefusedError, match="via sudo"):
        check_request(cfg, RemoveRequest("bob"))


def test_a_normal_user_passes(cfg):
    target = check_request(cfg, RemoveRequest("bob"))
    assert (target.uid, target.account, target.registered) == (1001, True, False)


def test_archive_without_a_backup_root_says_how_to_configure_one(tmp_path):
    cfg = parse_config(f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n', "t")
    with pytest.raises(InvalidInputError, match=r"set storage\.backup_root"):
        check_request(cfg, RemoveRequest("bob", "archive"))


def test_archive_to_a_missing_backup_root_is_refused(cfg, tmp_path):
    (tmp_path / "backup").rmdir()
    with pytest.raises(RefusedError, match="does not exist"):
        check_request(cfg, RemoveRequest("bob", "archive"))


def test_a_registry_only_user_is_found_with_the_recorded_ids(cfg):
    cfg.state_dir.mkdir(parents=True)
    entry = RegistryEntry(name="gone", uid=1500, gid=1500, primary_group="gone")
    with open_registry(cfg.registry_path) as registry:
        registry.upsert(entry)
    target = check_request(cfg, RemoveRequest("gone"))
    assert (target.uid, target.account, target.registered) == (1500, False, True)


def _preview(home: home_move.HomeState, *, busy: bool = False) -> user_remove.RemovalPreview:
    target = Target("bob", 1001, 1001, True, True)
    processes = [UserProcess(42, "sleep", "sleep 300")] if busy else []
    link = LinkState(Path("/home/bob"), "missing")
    return user_remove.RemovalPreview(target, ("bob",), home, link, [], processes)


def test_busy_user_is_refused_without_kill_sessions():
    preview = _preview(home_move.HomeState(Path("/x"), "missing"), busy=True)
    with pytest.raises(RefusedError, match="pass --kill-sessions"):
        user_remove.check_not_busy(preview, RemoveRequest("bob"))
    user_remove.check_not_busy(preview, RemoveRequest("bob", kill_sessions=True))


def test_purge_refuses_a_symlinked_home(tmp_path):
    (tmp_path / "bob").symlink_to("/etc")
    home = home_move.inspect_home(tmp_path / "bob")
    assert home.kind == "symlink"
    with pytest.raises(RefusedError, match="not a real directory"):
        data.check_movable(home, 1001)


def test_purge_refuses_a_home_owned_by_someone_else(tmp_path):
    (tmp_path / "bob").mkdir()
    home = home_move.inspect_home(tmp_path / "bob")
    with pytest.raises(ConflictError, match="owned by uid"):
        data.check_movable(home, home.owner_uid + 1)


def test_purge_refuses_a_home_with_mount_points():
    usage = safe_delete.TreeUsage(other_filesystems=["mnt"])
    home = home_move.HomeState(Path("/data/users/bob"), "directory", (1, 2), 1001, usage)
    with pytest.raises(RefusedError, match="mount points"):
        data.check_movable(home, 1001)


def test_home_link_is_removed_only_when_it_points_at_the_persistent_home(tmp_path):
    persistent = tmp_path / "data" / "bob"
    link = tmp_path / "home" / "bob"
    link.parent.mkdir()
    link.symlink_to(persistent)
    [change] = SymlinkAbsent(link, persistent).plan()
    change.action()
    assert not link.is_symlink()
    link.symlink_to("/somewhere/else")
    assert SymlinkAbsent(link, persistent).plan() == []
    link.unlink()
    link.mkdir()
    assert link_state(link, persistent).kind == "directory"
    assert SymlinkAbsent(link, persistent).plan() == []


def test_private_group_goes_only_when_it_is_nobody_elses(monkeypatch):
    groups = {1001: GroupInfo("bob", 1001, ()), 1002: GroupInfo("lab", 1002, ("bob", "amy"))}
    monkeypatch.setattr(accounts, "group_by_gid", groups.get)
    monkeypatch.setattr(accounts, "primary_users", lambda gid: ("bob",))
    assert account_absent.private_group("bob", 1001) == groups[1001]
    assert account_absent.private_group("bob", 1002) is None  # not named like the user
    monkeypatch.setattr(accounts, "primary_users", lambda gid: ("amy", "bob"))
    assert account_absent.private_group("bob", 1001) is None  # someone else's primary group too


def test_delete_account_removes_a_private_group_userdel_left(monkeypatch):
    calls = []
    group = GroupInfo("bob", 1001, ())
    monkeypatch.setattr(accounts, "delete_user", lambda n: calls.append(("userdel", n)))
    monkeypatch.setattr(accounts, "delete_group", lambda n: calls.append(("groupdel", n)))
    monkeypatch.setattr(accounts, "group_by_name", lambda n: group)
    account_absent.delete_account("bob", group)
    assert calls == [("userdel", "bob"), ("groupdel", "bob")]
    calls.clear()
    monkeypatch.setattr(accounts, "group_by_name", lambda n: None)
    account_absent.delete_account("bob", group)
    assert calls == [("userdel", "bob")]


def test_unregister_forgets_only_that_user(tmp_path):
    registry = tmp_path / "registry.json"
    with open_registry(registry) as entries:
        entries.upsert(RegistryEntry(name="bob", uid=1001, gid=1001, primary_group="bob"))
        entries.upsert(RegistryEntry(name="amy", uid=1002, gid=1002, primary_group="amy"))
    [change] = Unregistered(registry=registry, name="bob", account_removed=True).plan()
    change.action()
    assert Unregistered("bob", registry, account_removed=True).plan() == []
    with open_registry(registry) as entries:
        assert [e.name for e in entries.entries()] == ["amy"]
        assert entries.retired() == {"bob": 1001}  # removed: its uid is never given again


def test_user_unregister_keeps_the_account_and_retires_nothing(tmp_path):
    registry = tmp_path / "registry.json"
    with open_registry(registry) as entries:
        entries.upsert(RegistryEntry(name="bob", uid=1001, gid=1001, primary_group="bob"))
    [change] = Unregistered("bob", registry).plan()
    assert change.summary == "forget bob in the registry (the account stays)"
    assert change.resource == "registry bob"
    change.action()
    with open_registry(registry) as entries:
        assert (entries.entries(), entries.retired()) == ([], {})
    assert Unregistered("bob", tmp_path / "missing.json").plan() == []


def test_steps_of_a_default_removal_keep_the_data(cfg, tmp_path):
    home = home_move.HomeState(cfg.users_dir / "bob", "directory", (1, 2), 1001)
    labels = [
        s.id for s in removal_plan.removal_resources(cfg, RemoveRequest("bob"), _preview(home))
    ]
    assert labels == [
        "account bob",
        "crontab bob",
        "at jobs bob",
        "registry bob",
        "symlink /home/bob",
        "account bob",
    ]


def test_steps_of_a_purge_with_kill_sessions(cfg):
    home = home_move.HomeState(cfg.users_dir / "bob", "directory", (1, 2), 1001)
    request = RemoveRequest("bob", "purge", kill_sessions=True)
    labels = [s.id for s in removal_plan.removal_resources(cfg, request, _preview(home))]
    assert labels[3:5] == ["processes bob", f"data {cfg.users_dir}/bob"]


def test_archive_steps_make_the_archive_root_only_first(cfg):
    home = home_move.HomeState(cfg.users_dir / "bob", "directory", (1, 2), 1001)
    preview = _preview(home)
    preview.archive_to = data.archive_destination(cfg.storage.backup_root, "bob", "20240101-0000")
    steps = removal_plan.removal_resources(cfg, RemoveRequest("bob", "archive"), preview)
    archive_dir, move = steps[3], steps[4]
    assert archive_dir.id == f"directory {cfg.storage.backup_root}/archive"
    assert archive_dir.ownership.mode == 0o700
    assert move.touches() == (home.path, preview.archive_to)
