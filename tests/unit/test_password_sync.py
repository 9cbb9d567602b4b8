"""Password sync: live shadow hashes into the registry, only for the very same accounts,
through the ``RecordedPasswords`` resource and a change session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from datakeeper.actionlog import read_actions
from datakeeper.config import parse_config
from datakeeper.engine import Executor
from datakeeper.engine import session as runtime
from datakeeper.features.users import passwords as password_sync
from datakeeper.registry import RegistryEntry, open_registry, read_document
from datakeeper.resources.password_record import RecordedPasswords
from datakeeper.system import accounts
from datakeeper.system.accounts import UserInfo

OLD = "$y$j9T$old$0123456789abcdef"
NEW = "$y$j9T$new$fedcba9876543210"
SAVED = "save {}'s new password hash in the registry"

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the password sync is root's")


def _user(name: str, uid: int, gid: int | None = None) -> UserInfo:
    return UserInfo(name, uid, uid if gid is None else gid, "", f"/home/{name}", "/bin/bash")


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch):
    """A site in tmp; the storage guard accepts it (as if it were the persistent disk)."""
    monkeypatch.setattr(runtime, "StorageGuard", lambda roots: lambda paths: None)
    config = parse_config(f'[storage]\ndata_root = "{tmp_path}/data"\n', "test")
    config.state_dir.mkdir(parents=True, mode=0o700)
    return config


@pytest.fixture
def live(monkeypatch) -> dict[str, UserInfo]:
    """The accounts this machine knows (fake passwd)."""
    users: dict[str, UserInfo] = {}
    monkeypatch.setattr(accounts, "user_by_name", users.get)
    return users


@pytest.fixture
def shadow(tmp_path: Path):
    path = tmp_path / "shadow"

    def write(**hashes: str) -> Path:
        lines = [f"{name}:{hashed}:19000:0:99999:7:::" for name, hashed in hashes.items()]
        path.write_text("root:*:19000:0:99999:7:::\n" + "\n".join(lines) + "\n")
        return path

    return write


def _register(cfg, *entries: tuple[str, int, str]) -> None:
    with open_registry(cfg.registry_path) as registry:
        for name, uid, hashed in entries:
            registry.upsert(
                RegistryEntry(name=name, uid=uid, gid=uid, primary_group=name, password_hash=hashed)
            )


def _recorded(cfg) -> dict[str, str]:
    return {n: e.password_hash for n, e in read_document(cfg.registry_path).users.items()}


def _sync(cfg, shadow: Path, *, dry_run: bool = False) -> password_sync.SyncResult:
    return password_sync.sync_passwords(cfg, dry_run=dry_run, shadow=shadow)


# -- the resource's plan -------------------------------------------------------------------


def test_the_plan_says_which_hash_is_saved_never_the_hash(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD), ("bob", 1002, OLD))
    live.update(alice=_user("alice", 1001), bob=_user("bob", 1002))
    resource = RecordedPasswords(cfg.registry_path, shadow(alice=NEW, bob=OLD))
    [change] = resource.plan()
    assert (change.resource, change.summary) == ("registry alice", SAVED.format("alice"))
    assert NEW not in json.dumps(change.as_dict()) and OLD not in json.dumps(change.as_dict())
    assert resource.touches() == (cfg.registry_path,)
    assert _recorded(cfg) == {"alice": OLD, "bob": OLD}  # planning only reads


def test_applied_once_then_nothing_is_planned(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    resource = RecordedPasswords(cfg.registry_path, shadow(alice=NEW))
    assert len(Executor().converge([resource]).applied) == 1
    assert _recorded(cfg) == {"alice": NEW}
    assert resource.plan() == []


def test_a_change_saved_since_the_plan_is_not_written_again(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    [change] = RecordedPasswords(cfg.registry_path, shadow(alice=NEW)).plan()
    _register(cfg, ("alice", 1001, NEW))  # another run saved it meanwhile
    inode = os.stat(cfg.registry_path).st_ino
    change.action()
    assert os.stat(cfg.registry_path).st_ino == inode


# -- datakeeper recovery sync-passwords ----------------------------------------------------


def test_a_changed_password_is_recorded_with_one_log_line(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD), ("bob", 1002, OLD))
    live.update(alice=_user("alice", 1001), bob=_user("bob", 1002))
    before = read_document(cfg.registry_path).users["alice"]
    assert _sync(cfg, shadow(alice=NEW, bob=OLD)).updated == ["alice"]
    assert _recorded(cfg) == {"alice": NEW, "bob": OLD}
    after = read_document(cfg.registry_path).users["alice"]
    assert after.model_dump(exclude={"password_hash", "updated_at"}) == before.model_dump(
        exclude={"password_hash", "updated_at"}
    )
    [entry] = read_actions(cfg.action_log_path)
    assert (entry["resource"], entry["change"]) == ("registry alice", SAVED.format("alice"))
    assert NEW not in json.dumps(entry)


def test_nothing_changed_writes_nothing(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    inode = os.stat(cfg.registry_path).st_ino
    assert _sync(cfg, shadow(alice=OLD)).updated == []
    assert os.stat(cfg.registry_path).st_ino == inode
    assert read_actions(cfg.action_log_path) == []


@pytest.mark.parametrize(
    "account",
    [None, _user("alice", 2001), _user("alice", 1001, gid=100)],
    ids=["missing-after-a-wipe", "other-uid", "other-gid"],
)
def test_an_account_that_is_not_the_recorded_one_is_never_read(cfg, live, shadow, account):
    _register(cfg, ("alice", 1001, OLD))
    if account is not None:
        live["alice"] = account
    assert _sync(cfg, shadow(alice=NEW)).updated == []
    assert _recorded(cfg) == {"alice": OLD}


def test_an_account_missing_from_shadow_is_skipped(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    assert _sync(cfg, shadow()).updated == []


def test_a_bare_lock_never_replaces_a_recorded_password(cfg, live, shadow):
    """useradd leaves "!" until recovery sets the recorded hash: an interrupted recovery."""
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    result = _sync(cfg, shadow(alice="!"))
    assert result.updated == []
    assert "alice" in result.held_back
    assert _recorded(cfg) == {"alice": OLD}


@pytest.mark.parametrize(
    ("recorded", "live_hash"),
    [("!", NEW), ("", NEW), (OLD, "!" + OLD), ("!", "*"), (OLD, "")],
    ids=["first-password", "no-password-before", "locked-with-passwd-l", "lock-to-lock", "deleted"],
)
def test_other_changes_are_recorded(cfg, live, shadow, recorded, live_hash):
    _register(cfg, ("alice", 1001, recorded))
    live.update(alice=_user("alice", 1001))
    assert _sync(cfg, shadow(alice=live_hash)).updated == ["alice"]
    assert _recorded(cfg) == {"alice": live_hash}


def test_dry_run_reports_the_same_changes_without_writing(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    result = _sync(cfg, shadow(alice=NEW), dry_run=True)
    assert result.as_dict() == {"dry_run": True, "updated": ["alice"], "held_back": {}}
    assert _recorded(cfg) == {"alice": OLD}
    assert not cfg.action_log_path.exists()


def test_no_registry_no_work(cfg, live):
    assert _sync(cfg, Path("/nonexistent")).updated == []
    assert not cfg.registry_path.exists()


# -- the sync every change session does first -----------------------------------------------


@pytest.fixture
def passwd_changed(cfg, live, shadow, monkeypatch):
    """alice is registered with OLD; /etc/shadow (as the session reads it) says NEW."""
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    monkeypatch.setattr(accounts, "password_hash", _reader(shadow(alice=NEW)))


def _reader(path: Path):
    real = accounts.password_hash
    return lambda user, shadow=None: real(user, path)


@as_root
def test_every_change_session_saves_changed_passwords_first(cfg, passwd_changed):
    with runtime.change_session(cfg, dry_run=False):
        assert _recorded(cfg) == {"alice": NEW}
    [entry] = read_actions(cfg.action_log_path)
    assert (entry["resource"], entry["change"]) == ("registry alice", SAVED.format("alice"))
    assert entry["outcome"] == "applied"
    assert NEW not in json.dumps(entry)


@as_root
def test_recovery_and_dry_runs_do_not_sync(cfg, passwd_changed):
    with runtime.change_session(cfg, dry_run=False, sync_passwords=False):
        pass
    with runtime.change_session(cfg, dry_run=True):
        pass
    assert _recorded(cfg) == {"alice": OLD}
    assert read_actions(cfg.action_log_path) == []


@as_root
def test_a_failed_sync_only_warns(cfg, live, caplog):
    cfg.registry_path.write_text("{not json")
    cfg.registry_path.chmod(0o600)
    with runtime.change_session(cfg, dry_run=False) as session:
        assert session.log is not None  # the run the admin asked for goes on
    assert "warning: could not save changed passwords" in caplog.text


@as_root
def test_a_held_back_account_is_a_warning(cfg, live, shadow, monkeypatch, caplog):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    monkeypatch.setattr(accounts, "password_hash", _reader(shadow(alice="!")))
    with runtime.change_session(cfg, dry_run=False):
        pass
    assert "alice has no password here but one is recorded" in caplog.text
    assert _recorded(cfg) == {"alice": OLD}


def test_only_root_syncs(cfg, monkeypatch):
    monkeypatch.setattr(runtime.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(runtime, "RecordedPasswords", lambda path: pytest.fail("must not sync"))
    runtime._sync_passwords(runtime.Session(cfg, False, None))
