"""Recovery at a thousand accounts (issue 19): cached account reads, the action log
flushed in batches, and every recorded password set with one ``chpasswd``."""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

import pytest
from pydantic import ValidationError

from datakeeper import actionlog
from datakeeper.actionlog import ActionLog, batched_sync, read_actions
from datakeeper.config import SiteConfig
from datakeeper.engine import Executor
from datakeeper.errors import InvalidInputError
from datakeeper.features.recovery.recover import passwords_step, user_step
from datakeeper.registry import RegistryDocument, RegistryEntry
from datakeeper.registry import model as registry_model
from datakeeper.resources import UserAccount
from datakeeper.resources.recorded_hashes import RecordedHash, RecordedHashes
from datakeeper.system import account_snapshot, accounts, mounts
from datakeeper.system.accounts import UserInfo

# -- cached account reads ------------------------------------------------------


class Databases:
    """Fake passwd/group databases behind files whose changes the cache must notice."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.files = {name: tmp_path / name for name in ("passwd", "group", "shadow")}
        for path in self.files.values():
            path.write_text("")
        self.users = [pwd.struct_passwd(("alice", "x", 3001, 3001, "", "/home/alice", "/bin/sh"))]
        self.groups = [
            grp.struct_group(("alice", "x", 3001, [])),
            grp.struct_group(("lab", "x", 3100, ["alice"])),
        ]
        self.calls: dict[str, int] = {}
        monkeypatch.setattr(account_snapshot, "PASSWD_PATH", self.files["passwd"])
        monkeypatch.setattr(account_snapshot, "GROUP_PATH", self.files["group"])
        monkeypatch.setattr(pwd, "getpwall", self._counted("getpwall", lambda: list(self.users)))
        monkeypatch.setattr(grp, "getgrall", self._counted("getgrall", lambda: list(self.groups)))
        monkeypatch.setattr(pwd, "getpwnam", self._counted("getpwnam", self._pwnam))
        monkeypatch.setattr(grp, "getgrnam", self._counted("getgrnam", self._grnam))

    def _counted(self, name, function):
        def counted(*args):
            self.calls[name] = self.calls.get(name, 0) + 1
            return function(*args)

        return counted

    def _pwnam(self, name: str):
        return next(u for u in self.users if u.pw_name == name)  # StopIteration is not KeyError

    def _grnam(self, name: str):
        for group in self.groups:
            if group.gr_name == name:
                return group
        raise KeyError(name)

    def replace(self, name: str, text: str) -> None:
        """Write a new version of a file the way shadow-utils does: a rename."""
        new = self.files[name].with_suffix(".new")
        new.write_text(text)
        os.replace(new, self.files[name])


@pytest.fixture
def databases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Databases:
    return Databases(tmp_path, monkeypatch)


def test_unchanged_databases_are_enumerated_once_for_any_number_of_reads(databases) -> None:
    shadow = databases.files["shadow"]
    shadow.write_text("alice:$6$x:19000:0:99999:7:::\n")
    with accounts.cached_reads(shadow):
        for _ in range(100):
            assert accounts.supplementary_groups("alice") == ("lab",)
            assert accounts.group_by_name("lab").gid == 3100
            assert accounts.user_by_name("alice").uid == 3001
            assert accounts.password_hash("alice", shadow) == "$6$x"
    assert databases.calls == {
        "getgrall": 1,
        "getpwall": 1,
        "getpwnam": account_snapshot.STABLE_AFTER - 1,
    }


def test_a_changed_file_is_read_again(databases) -> None:
    shadow = databases.files["shadow"]
    with accounts.cached_reads(shadow):
        assert accounts.supplementary_groups("alice") == ("lab",)
        databases.groups.append(grp.struct_group(("gpu", "x", 3200, ["alice"])))
        databases.replace("group", "changed\n")
        assert accounts.supplementary_groups("alice") == ("gpu", "lab")
        shadow.write_text("alice:$6$old:::::::\n")
        assert accounts.password_hash("alice", shadow) == "$6$old"
        databases.replace("shadow", "alice:$6$new:::::::\n")
        assert accounts.password_hash("alice", shadow) == "$6$new"


def test_a_file_that_keeps_changing_is_asked_entry_by_entry(databases) -> None:
    with accounts.cached_reads(databases.files["shadow"]):
        for round_ in range(20):
            databases.replace("group", f"version {round_}\n")
            assert accounts.group_by_name("lab").gid == 3100
    assert databases.calls == {"getgrnam": 20}  # never enumerated: each version asked once


def test_a_name_missing_from_the_enumeration_is_still_asked(databases, monkeypatch) -> None:
    ldap = grp.struct_group(("ldap-only", "x", 5000, []))
    monkeypatch.setattr(grp, "getgrnam", lambda name: ldap if name == "ldap-only" else None)
    with accounts.cached_reads(databases.files["shadow"]):
        for _ in range(account_snapshot.STABLE_AFTER + 2):
            assert accounts.group_by_name("ldap-only").gid == 5000


def test_outside_the_block_every_read_goes_to_the_system(databases) -> None:
    for _ in range(3):
        accounts.group_by_name("lab")
    assert databases.calls == {"getgrnam": 3}


# -- the action log in batches -------------------------------------------------


def test_a_batch_writes_every_record_at_once_and_flushes_at_the_end(tmp_path, monkeypatch):
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(actionlog.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    log = ActionLog(tmp_path / "actions.log")
    with batched_sync(interval=3600):
        for i in range(50):
            log.record(code="group.create", resource=f"group g{i}", change=f"create g{i}")
        assert len(read_actions(log.path)) == 50  # on disk for any reader (and a SIGKILL)
        assert synced == []
    assert len(synced) == 1


def test_a_batch_still_flushes_once_its_interval_has_passed(tmp_path, monkeypatch):
    synced: list[int] = []
    monkeypatch.setattr(actionlog.os, "fsync", synced.append)
    log = ActionLog(tmp_path / "actions.log")
    with batched_sync(interval=0):
        for i in range(3):
            log.record(code="group.create", resource=f"group g{i}", change=f"create g{i}")
    assert len(synced) == 3


def test_without_a_batch_every_record_is_flushed(tmp_path, monkeypatch):
    synced: list[int] = []
    monkeypatch.setattr(actionlog.os, "fsync", synced.append)
    log = ActionLog(tmp_path / "actions.log")
    for i in range(3):
        log.record(code="group.create", resource=f"group g{i}", change=f"create g{i}")
    assert len(synced) == 3


# -- one chpasswd for every recorded password ----------------------------------


@pytest.fixture
def system(monkeypatch):
    """Accounts alice (3001/3001, old hash), bob (3002, current), carol (other uid)."""
    users = {
        "alice": UserInfo("alice", 3001, 3001, "", "/home/alice", "/bin/bash"),
        "bob": UserInfo("bob", 3002, 3002, "", "/home/bob", "/bin/bash"),
        "carol": UserInfo("carol", 4444, 3003, "", "/home/carol", "/bin/bash"),
    }
    hashes = {"alice": "!", "bob": "$6$bob", "carol": "!"}
    monkeypatch.setattr(accounts, "user_by_name", users.get)
    monkeypatch.setattr(accounts, "password_hash", hashes.get)
    runs: list[tuple[list[str], str]] = []
    monkeypatch.setattr(
        accounts.commands, "run", lambda argv, input=None, secrets=(): runs.append((argv, input))
    )
    return runs


def _wanted() -> tuple[RecordedHash, ...]:
    return (
        RecordedHash("alice", 3001, 3001, "$6$alice"),
        RecordedHash("bob", 3002, 3002, "$6$bob"),
        RecordedHash("carol", 3003, 3003, "$6$carol"),  # another account holds the name
        RecordedHash("dave", 3004, 3004, "$6$dave"),  # not created (its step failed)
    )


def test_recorded_hashes_set_only_what_differs_in_one_chpasswd(system) -> None:
    outcome = Executor().converge([RecordedHashes(_wanted())])
    assert [c.summary for c in outcome.applied] == ["set the recorded password of alice"]
    assert system == [(["chpasswd", "--encrypted"], "alice:$6$alice\n")]
    assert "$6$" not in repr(outcome.as_dict())  # the hashes are secrets


def test_many_accounts_are_one_command(system, monkeypatch) -> None:
    monkeypatch.setattr(accounts, "password_hash", lambda name: "!")
    Executor().converge([RecordedHashes(_wanted()[:2])])
    assert system == [(["chpasswd", "--encrypted"], "alice:$6$alice\nbob:$6$bob\n")]


def test_a_line_breaking_name_or_hash_is_refused_before_chpasswd(system) -> None:
    with pytest.raises(InvalidInputError):
        accounts.set_password_hashes({"alice": "$6$a", "eve:0": "$6$e"})
    with pytest.raises(InvalidInputError):
        accounts.set_password_hashes({"alice": "$6$a\nroot:x"})
    assert system == []


def test_recover_leaves_the_hashes_to_one_step_after_the_accounts() -> None:
    cfg = SiteConfig(admin="admin")
    entry = RegistryEntry(name="alice", uid=3001, gid=3001, primary_group="alice",
                          password_hash="$6$alice")  # fmt: skip
    account = next(r for r in user_step(cfg, entry, password=False).resources
                   if isinstance(r, UserAccount))  # fmt: skip
    assert account.password_hash is None
    step = passwords_step([entry])
    assert step.key == "PASSWORDS"
    assert step.resources == [RecordedHashes((RecordedHash("alice", 3001, 3001, "$6$alice"),))]
    default = next(r for r in user_step(cfg, entry).resources if isinstance(r, UserAccount))
    assert default.password_hash == "$6$alice"  # node sync and others: unchanged


# -- the mount table, read again only when it changes --------------------------


def test_a_watched_mount_table_is_read_once_until_the_kernel_reports_a_change(monkeypatch):
    reads: list[Path] = []
    real_read = mounts._read
    monkeypatch.setattr(mounts, "_read", lambda path: reads.append(path) or real_read(path))
    changed = [False]
    monkeypatch.setattr(mounts, "_changed", lambda fd: changed[0])
    with mounts.watched_mounts():
        for _ in range(50):
            assert mounts.mount_of(Path("/")) is not None
        assert len(reads) == 1
        changed[0] = True  # a mount or unmount: poll reports POLLPRI
        mounts.mount_of(Path("/"))
        assert len(reads) == 2
    mounts.mount_of(Path("/"))
    mounts.mount_of(Path("/"))
    assert len(reads) == 4  # outside the block: every call reads the table


def test_an_untouched_mount_table_reports_no_change() -> None:
    with mounts.watched_mounts():
        assert mounts.mounts()  # the first reading
        watch = mounts._WATCH.get()
        assert watch is not None and not mounts._changed(watch.fd)


# -- the registry's consistency check, linear in the number of accounts --------


def _entries(count: int) -> dict[str, dict]:
    return {
        f"user{i:04d}": {
            "name": f"user{i:04d}",
            "uid": 3000 + i,
            "gid": 3000 + i,
            "primary_group": f"user{i:04d}",
        }
        for i in range(count)
    }


def test_a_registry_of_distinct_accounts_is_checked_without_pairwise_scans(monkeypatch):
    scans: list[str] = []
    real = registry_model.find_conflict
    monkeypatch.setattr(
        registry_model, "find_conflict", lambda e, others: scans.append(e.name) or real(e, others)
    )
    document = RegistryDocument.model_validate({"users": _entries(300)})
    assert len(document.users) == 300 and scans == []


def test_a_shared_uid_is_still_refused_with_its_reason() -> None:
    users = _entries(5)
    users["user0004"]["uid"] = 3001
    with pytest.raises(ValidationError, match="uid 3001 is already recorded for user0001"):
        RegistryDocument.model_validate({"users": users})
