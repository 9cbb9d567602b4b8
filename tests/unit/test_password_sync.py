"""Password sync: live shadow hashes into the registry, only for the very same accounts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from datakeeper.actionlog import ActionLog, read_actions
from datakeeper.config import parse_config
from datakeeper.engine import session as runtime
from datakeeper.features.users import passwords as password_sync
from datakeeper.registry import RegistryEntry, open_registry, read_document
from datakeeper.system import accounts
from datakeeper.system.accounts import UserInfo

OLD = "$y$j9T$old$0123456789abcdef"
NEW = "$y$j9T$new$fedcba9876543210"


def _user(name: str, uid: int, gid: int | None = None) -> UserInfo:
    return UserInfo(name, uid, uid if gid is None else gid, "", f"/home/{name}", "/bin/bash")


@pytest.fixture
def cfg(tmp_path: Path):
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


def test_a_changed_password_is_recorded(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD), ("bob", 1002, OLD))
    live.update(alice=_user("alice", 1001), bob=_user("bob", 1002))
    before = read_document(cfg.registry_path).users["alice"]
    names = password_sync.sync_passwords(cfg, shadow=shadow(alice=NEW, bob=OLD))
    assert names == ["alice"]
    assert _recorded(cfg) == {"alice": NEW, "bob": OLD}
    after = read_document(cfg.registry_path).users["alice"]
    assert after.model_dump(exclude={"password_hash", "updated_at"}) == before.model_dump(
        exclude={"password_hash", "updated_at"}
    )


def test_nothing_changed_writes_nothing(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    inode = os.stat(cfg.registry_path).st_ino
    assert password_sync.sync_passwords(cfg, shadow=shadow(alice=OLD)) == []
    assert os.stat(cfg.registry_path).st_ino == inode


@pytest.mark.parametrize(
    "account",
    [None, _user("alice", 2001), _user("alice", 1001, gid=100)],
    ids=["missing-after-a-wipe", "other-uid", "other-gid"],
)
def test_an_account_that_is_not_the_recorded_one_is_never_read(cfg, live, shadow, account):
    _register(cfg, ("alice", 1001, OLD))
    if account is not None:
        live["alice"] = account
    assert password_sync.sync_passwords(cfg, shadow=shadow(alice=NEW)) == []
    assert _recorded(cfg) == {"alice": OLD}


def test_an_account_missing_from_shadow_is_skipped(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    assert password_sync.sync_passwords(cfg, shadow=shadow()) == []


def test_a_bare_lock_never_replaces_a_recorded_password(cfg, live, shadow):
    """useradd leaves "!" until recovery sets the recorded hash: an interrupted recovery."""
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    plan = password_sync.sync(cfg, shadow=shadow(alice="!"))
    assert plan.updates == {}
    assert "alice" in plan.held_back
    assert _recorded(cfg) == {"alice": OLD}


@pytest.mark.parametrize(
    ("recorded", "live_hash"),
    [("!", NEW), ("", NEW), (OLD, "!" + OLD), ("!", "*"), (OLD, "")],
    ids=["first-password", "no-password-before", "locked-with-passwd-l", "lock-to-lock", "deleted"],
)
def test_other_changes_are_recorded(cfg, live, shadow, recorded, live_hash):
    _register(cfg, ("alice", 1001, recorded))
    live.update(alice=_user("alice", 1001))
    assert password_sync.sync_passwords(cfg, shadow=shadow(alice=live_hash)) == ["alice"]
    assert _recorded(cfg) == {"alice": live_hash}


def test_dry_run_reports_without_writing(cfg, live, shadow):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    assert password_sync.sync_passwords(cfg, dry_run=True, shadow=shadow(alice=NEW)) == ["alice"]
    assert _recorded(cfg) == {"alice": OLD}


def test_no_registry_no_work(cfg, live):
    assert password_sync.sync_passwords(cfg, shadow=Path("/nonexistent")) == []
    assert not cfg.registry_path.exists()


# -- the sync every datakeeper run does --------------------------------------------------


def test_best_effort_sync_logs_names_never_hashes(cfg, live, shadow, monkeypatch):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    monkeypatch.setattr(password_sync.accounts, "password_hash", _reader(shadow(alice=NEW)))
    log = ActionLog(cfg.action_log_path)
    assert password_sync.sync_best_effort(cfg, log) == ["alice"]
    (entry,) = read_actions(cfg.action_log_path)
    assert entry["resource"] == "registry alice"
    assert NEW not in json.dumps(entry)


def _reader(path: Path):
    real = accounts.password_hash
    return lambda user, shadow=None: real(user, path)


def test_best_effort_sync_only_warns_when_it_fails(cfg, live, capsys):
    cfg.registry_path.write_text("{not json")
    cfg.registry_path.chmod(0o600)
    assert password_sync.sync_best_effort(cfg, None) == []
    assert "warning: could not save changed passwords" in capsys.readouterr().err


def test_best_effort_sync_warns_about_held_back_accounts(cfg, live, shadow, monkeypatch, capsys):
    _register(cfg, ("alice", 1001, OLD))
    live.update(alice=_user("alice", 1001))
    monkeypatch.setattr(password_sync.accounts, "password_hash", _reader(shadow(alice="!")))
    assert password_sync.sync_best_effort(cfg, None) == []
    assert "alice has no password here but one is recorded" in capsys.readouterr().err


def test_best_effort_sync_needs_root(cfg, monkeypatch):
    monkeypatch.setattr(password_sync.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(password_sync, "sync", lambda cfg: pytest.fail("must not sync"))
    assert password_sync.sync_best_effort(cfg, None) == []


# -- wiring into runtime.change_session ----------------------------------------------------


@pytest.fixture
def sync_calls(monkeypatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(runtime, "StorageGuard", lambda roots: lambda paths: None)
    monkeypatch.setattr(
        password_sync, "sync_best_effort", lambda cfg, log: calls.append(str(log.path))
    )
    return calls


def test_every_change_session_syncs_first(cfg, sync_calls):
    with runtime.change_session(cfg, dry_run=False):
        assert sync_calls == [str(cfg.action_log_path)]


def test_recovery_and_dry_runs_do_not_sync(cfg, sync_calls):
    with runtime.change_session(cfg, dry_run=False, sync_passwords=False):
        pass
    with runtime.change_session(cfg, dry_run=True):
        pass
    assert sync_calls == []
