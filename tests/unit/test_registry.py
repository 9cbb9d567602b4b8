"""Tests for the registry: model rules, safe loading, atomic and locked writes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from datakeeper.errors import InvalidInputError, LockBusyError, RegistryError
from datakeeper.registry import (
    RegistryDocument,
    RegistryEntry,
    open_registry,
    read_document,
    read_registry,
)
from datakeeper.registry.store import lock_path, render

OLD = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
ZSH_HYBRID: dict[str, Any] = {"shell": "/bin/zsh", "home_layout": "hybrid"}


def entry(name: str = "alice", uid: int = 1001, **fields: Any) -> RegistryEntry:
    """A valid entry with a private group of the same name and id."""
    values: dict[str, Any] = {"name": name, "uid": uid, "gid": uid, "primary_group": name}
    values.update(fields)
    return RegistryEntry(**values)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "registry.json"


def write_two(path: Path) -> None:
    with open_registry(path) as registry:
        registry.upsert(entry("bob", 1002, groups=["gpu-users"], password_hash="$y$j9T$abc"))
        registry.upsert(entry("alice", 1001, **ZSH_HYBRID))


# --- model ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Alice"),
        ("name", "1abc"),
        ("name", "a.b"),
        ("name", "a;id"),
        ("name", "alice\n"),
        ("name", "a" * 33),
        ("uid", 0),
        ("uid", 65534),
        ("uid", 4294967295),
        ("uid", True),
        ("uid", "1001"),
        ("gid", 0),
        ("gid", 65534),
        ("primary_group", "Bad"),
        ("groups", ["ok", "No"]),
        ("shell", "bin/bash"),
        ("shell", "/bin/bash\n"),
        ("gecos", "a:b"),
        ("gecos", "a\nb"),
        ("password_hash", "x:y"),
        ("password_hash", "x\ny"),
        ("ssh_key_fingerprints", ["SHA256:a b"]),
        ("ssh_key_fingerprints", [""]),
        ("home_layout", "copy"),
        ("created_at", datetime(2020, 1, 1)),  # naive: refused
        ("surprise", 1),
    ],
)
def test_entry_refuses_bad_values(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        entry(**{field: value})
    assert caught.value.errors()[0]["loc"][0] == field


def test_entry_normalizes_lists_and_times() -> None:
    local = timezone(timedelta(hours=9))
    made = entry(
        groups=["video", "gpu-users", "video"],
        ssh_key_fingerprints=["SHA256:b", "SHA256:a"],
        created_at=datetime(2024, 1, 1, 9, 0, tzinfo=local),
    )
    assert made.groups == ("gpu-users", "video")
    assert made.ssh_key_fingerprints == ("SHA256:a", "SHA256:b")
    assert made.created_at == datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc)
    assert made.created_at.utcoffset() == timedelta(0)
    assert made.model_dump(mode="json")["created_at"] == "2024-01-01T00:00:00Z"


def test_entry_is_frozen() -> None:
    made = entry()
    with pytest.raises(ValidationError):
        made.uid = 5  # type: ignore[misc]


def test_masked_hides_hash_but_shows_no_password() -> None:
    assert entry(password_hash="$6$salt$hash").masked()["password_hash"] == "***"
    assert entry(password_hash="").masked()["password_hash"] == ""
    assert entry().masked()["name"] == "alice"


def test_document_key_must_match_name() -> None:
    with pytest.raises(ValidationError, match=r"users\.bob"):
        RegistryDocument(users={"bob": entry("alice")})


# --- store: round trip and changes ------------------------------------------


def test_missing_file_is_an_empty_registry(path: Path) -> None:
    assert read_registry(path) == []
    with open_registry(path) as registry:
        assert registry.entries() == []
    assert not path.exists(), "an unchanged empty registry is not written"


def test_round_trip(path: Path) -> None:
    write_two(path)
    with open_registry(path) as registry:
        expected = registry.entries()
    entries = read_registry(path)
    assert [e.name for e in entries] == ["alice", "bob"]
    assert entries == expected
    assert entries[1].groups == ("gpu-users",)
    assert entries[1].password_hash == "$y$j9T$abc"
    info = path.lstat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid())


def test_output_is_stable_json(path: Path) -> None:
    write_two(path)
    text = path.read_text()
    assert text.endswith("}\n")
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert list(data["users"]) == ["alice", "bob"]
    assert data["version"] == 1
    assert data["users"]["alice"]["created_at"].endswith("Z")
    assert data["generation"] == 1, "one write so far"
    assert render(read_document(path)) == path.read_bytes()


def test_a_read_again_is_its_own_copy_and_sees_every_change(path: Path) -> None:
    write_two(path)
    first = read_document(path)
    first.users.pop("alice")  # a caller changing its copy changes nobody else's
    first.groups["mine"] = 4000
    again = read_document(path)
    assert sorted(again.users) == ["alice", "bob"] and again.groups == {}
    with open_registry(path) as registry:
        registry.upsert(entry("carol", 1003))
    assert sorted(read_document(path).users) == ["alice", "bob", "carol"]
    path.write_text(path.read_text().replace('"carol"', '"Carol"', 1))  # damaged since
    with pytest.raises(RegistryError):
        read_document(path)


def test_lookups(path: Path) -> None:
    write_two(path)
    with open_registry(path) as registry:
        assert registry.get("alice") is not None
        assert registry.get("carol") is None
        assert [entry.name for entry in registry.entries()] == ["alice", "bob"]


def test_upsert_keeps_created_at_and_sets_updated_at(path: Path) -> None:
    with open_registry(path) as registry:
        registry.upsert(entry(created_at=OLD, updated_at=OLD))
    with open_registry(path) as registry:
        assert registry.upsert(entry(gecos="Alice Kim", created_at=datetime.now(timezone.utc)))
    (saved,) = read_registry(path)
    assert saved.gecos == "Alice Kim"
    assert saved.created_at == OLD
    assert saved.updated_at > OLD


def test_upsert_of_unchanged_account_writes_nothing(path: Path) -> None:
    write_two(path)
    before = path.stat()
    with open_registry(path) as registry:
        assert registry.upsert(entry("alice", 1001, **ZSH_HYBRID)) is False
        assert not registry.changed
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_remove(path: Path) -> None:
    write_two(path)
    with open_registry(path) as registry:
        assert registry.remove("alice") is True
        assert registry.remove("alice") is False
        assert registry.remove("nobody-here") is False
    assert [e.name for e in read_registry(path)] == ["bob"]


def test_duplicate_uid_is_refused(path: Path) -> None:
    write_two(path)
    with open_registry(path) as registry, pytest.raises(InvalidInputError, match="uid 1001"):
        registry.upsert(entry("carol", 1001, gid=1003, primary_group="carol"))
    assert [e.name for e in read_registry(path)] == ["alice", "bob"]


def test_conflicting_group_ids_are_refused(path: Path) -> None:
    write_two(path)
    with open_registry(path) as registry:
        with pytest.raises(InvalidInputError, match="gid 1001 is recorded as group alice"):
            registry.upsert(entry("carol", 1003, gid=1001, primary_group="carol"))
        with pytest.raises(InvalidInputError, match="group alice is recorded with gid 1001"):
            registry.upsert(entry("carol", 1003, gid=1003, primary_group="alice"))
        # Sharing a primary group with the same gid is fine.
        assert registry.upsert(entry("carol", 1003, gid=1001, primary_group="alice"))


def test_same_name_may_change_its_own_ids(path: Path) -> None:
    write_two(path)
    with open_registry(path) as registry:
        assert registry.upsert(entry("alice", 2001))
    assert read_registry(path)[0].uid == 2001


def test_read_only_session_does_not_write(path: Path) -> None:
    write_two(path)
    before = path.stat()
    time.sleep(0.01)
    with open_registry(path) as registry:
        registry.entries()
        registry.get("alice")
    read_registry(path)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_upsert_then_remove_is_no_change(path: Path) -> None:
    write_two(path)
    before = path.stat()
    with open_registry(path) as registry:
        registry.upsert(entry("carol", 1003))
        registry.remove("carol")
    assert path.stat().st_ino == before.st_ino


def test_exception_inside_block_writes_nothing(path: Path) -> None:
    write_two(path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError), open_registry(path) as registry:
        registry.remove("alice")
        registry.upsert(entry("carol", 1003))
        raise RuntimeError("interrupted")
    assert path.read_bytes() == before


def test_no_temp_files_left_behind(path: Path) -> None:
    for number in range(5):
        with open_registry(path) as registry:
            registry.upsert(entry(f"user{number}", 2000 + number))
    assert sorted(p.name for p in path.parent.iterdir()) == ["registry.json", "registry.json.lock"]
    assert stat.S_IMODE(lock_path(path).stat().st_mode) == 0o600


# --- store: refusals ----------------------------------------------------------


def test_readable_by_others_is_refused(path: Path) -> None:
    write_two(path)
    path.chmod(0o644)
    with pytest.raises(RegistryError) as caught, open_registry(path):
        pass
    message = str(caught.value)
    assert "readable by others (mode 0644)" in message
    assert f"fix: chmod 600 {path}" in message
    assert "\n" not in message
    with pytest.raises(RegistryError, match="readable by others"):
        read_registry(path)


def test_group_writable_file_is_refused(path: Path) -> None:
    write_two(path)
    path.chmod(0o620)
    with pytest.raises(RegistryError, match="writable by others"):
        read_registry(path)


def test_symlink_is_refused(path: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.json"
    write_two(real)
    path.symlink_to(real)
    before = real.read_bytes()
    with pytest.raises(RegistryError, match="symbolic link"), open_registry(path) as registry:
        registry.upsert(entry("carol", 1003))
    assert real.read_bytes() == before
    assert path.is_symlink()


def test_not_a_regular_file_is_refused(path: Path) -> None:
    os.mkfifo(path, 0o600)
    with pytest.raises(RegistryError, match="not a regular file"):
        read_registry(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_file_owned_by_someone_else_is_refused(path: Path) -> None:
    write_two(path)
    os.chown(path, 12345, 12345)
    with pytest.raises(RegistryError, match="owned by uid 12345"):
        read_registry(path)


def test_group_writable_directory_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    directory.mkdir()
    directory.chmod(0o2775)
    with pytest.raises(RegistryError) as caught, open_registry(directory / "registry.json"):
        pass
    assert "writable by others (mode 2775)" in str(caught.value)
    assert "chmod go-w" in str(caught.value)
    assert list(directory.iterdir()) == [], "not even a lock file is created"


def test_sticky_directory_owned_by_us_is_accepted(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    directory.mkdir()
    directory.chmod(0o1777)
    write_two(directory / "registry.json")
    assert len(read_registry(directory / "registry.json")) == 2


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="does not exist"):
        read_registry(tmp_path / "absent" / "registry.json")


def corrupt(path: Path, data: bytes) -> bytes:
    path.write_bytes(data)
    path.chmod(0o600)
    return data


@pytest.mark.parametrize(
    "data",
    [b"", b"{not json", b"\xff\xfe", b"[]", b'{"version": 2, "users": {}}'],
    ids=["empty", "syntax", "not-utf8", "not-object", "newer-version"],
)
def test_corrupt_registry_is_refused_and_left_alone(path: Path, data: bytes) -> None:
    corrupt(path, data)
    with pytest.raises(RegistryError) as caught, open_registry(path) as registry:
        registry.upsert(entry())
    assert str(path) in str(caught.value)
    assert "will not overwrite" in str(caught.value)
    assert path.read_bytes() == data


def test_invalid_entry_names_the_field(path: Path) -> None:
    write_two(path)
    document = json.loads(path.read_text())
    document["users"]["alice"]["uid"] = 0
    data = corrupt(path, json.dumps(document).encode())
    with pytest.raises(RegistryError, match=r"users\.alice\.uid"), open_registry(path):
        pass
    assert path.read_bytes() == data


def test_duplicate_uid_in_file_is_refused(path: Path) -> None:
    write_two(path)
    document = json.loads(path.read_text())
    document["users"]["bob"]["uid"] = 1001
    corrupt(path, json.dumps(document).encode())
    with pytest.raises(RegistryError, match=r"users\.bob: uid 1001 is already recorded"):
        read_registry(path)


# --- locking and concurrency ------------------------------------------------

HOLDER = """
import sys
from pathlib import Path
from datakeeper.registry import open_registry
with open_registry(Path(sys.argv[1])):
    print("ready", flush=True)
    sys.stdin.read()
"""

WRITER = """
import sys, time
from pathlib import Path
from datakeeper.registry import RegistryEntry, open_registry
path, base, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
for i in range(50):
    name = f"w{base}-{i}"
    with open_registry(path, timeout=120) as registry:
        registry.upsert(RegistryEntry(name=name, uid=base + i, gid=base + i, primary_group=name))
"""


def test_lock_timeout_names_the_holder(path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(LockBusyError) as caught, open_registry(path, timeout=0.2):
            pass
        with pytest.raises(LockBusyError):
            read_registry(path, timeout=0.2)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert f"pid {holder.pid}" in str(caught.value)
    assert "registry" in str(caught.value)
    assert "try again when it finishes" in str(caught.value)


def test_concurrent_writers_lose_nothing(path: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(base), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for base in (10000, 20000, 30000)
    ]
    for writer in writers:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
    go.touch()  # all start at the same moment
    for writer in writers:
        _, errors = writer.communicate(timeout=240)
        assert writer.returncode == 0, errors
    entries = read_registry(path)
    assert len(entries) == 150
    assert {e.uid for e in entries} == {b + i for b in (10000, 20000, 30000) for i in range(50)}
    json.loads(path.read_text())
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "go",
        "registry.json",
        "registry.json.lock",
    ]


def test_retire_forgets_the_account_but_remembers_its_uid(tmp_path):
    path = tmp_path / "registry.json"
    with open_registry(path) as registry:
        registry.upsert(RegistryEntry(name="alice", uid=1500, gid=1500, primary_group="alice"))
    with open_registry(path) as registry:
        assert registry.retire("alice") is True
        assert registry.retire("nobody-here") is False
    document = json.loads(path.read_text())
    assert document["users"] == {}
    assert document["retired"] == {"alice": 1500}
    with open_registry(path) as registry:  # the same person back with the same uid
        registry.upsert(RegistryEntry(name="alice", uid=1500, gid=1500, primary_group="alice"))
    assert json.loads(path.read_text())["retired"] == {}
