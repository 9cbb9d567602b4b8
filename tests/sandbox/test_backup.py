"""`datakeeper backup`: snapshots on /backup with rsync, inside a disposable server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from datakeeper.features.backup.manifest import read_manifest
from tests.support.sandbox import StorageSpec
from tests.support.server_fixtures import boot_server
from tests.support.site_setup import NO_SOFTWARE, add_linked_member, init_site, prepare_site

pytestmark = pytest.mark.sandbox

SNAPSHOTS = "/backup/datakeeper/snapshots"
HOME = "/data/users/alice"


def _run(server, *args: str, check: bool = True) -> dict:
    result = server.datakeeper("--json", "backup", *args, check=check)
    return json.loads(result.stdout) if result.stdout.strip() else {"stderr": result.stderr}


def _snapshot(server) -> str:
    """Take a snapshot; its name. Names are UTC seconds: wait so two never collide."""
    time.sleep(1.1)
    report = _run(server, "run")
    return report["snapshot"]["name"]


def _listed(server) -> list[dict]:
    return json.loads(server.datakeeper("--json", "backup", "list").stdout)


@pytest.fixture
def alice(site):
    """A member with a few files and a planted link to /etc/shadow in her home."""
    server = site
    add_linked_member(server, "alice")
    script = (
        f"cd {HOME} && echo keep > keep.txt && echo gone > gone.txt && echo v1 > edit.txt"
        " && ln -s /etc/shadow evil"
    )
    server.run(["sh", "-c", script], user="alice")
    return server


def test_unchanged_files_are_shared_by_hard_link_and_links_are_kept(alice):
    server = alice
    first = _snapshot(server)
    server.run(["sh", "-c", f"echo v2 > {HOME}/edit.txt && rm {HOME}/gone.txt"], user="alice")
    second = _snapshot(server)

    def inode(name: str, path: str) -> int:
        return os.lstat(server.path(f"{SNAPSHOTS}/{name}/data/users/alice/{path}")).st_ino

    assert inode(first, "keep.txt") == inode(second, "keep.txt")
    assert inode(first, "edit.txt") != inode(second, "edit.txt")
    new = server.path(f"{SNAPSHOTS}/{second}/data/users/alice")
    assert (new / "edit.txt").read_text() == "v2\n"
    assert not (new / "gone.txt").exists()
    assert (server.path(f"{SNAPSHOTS}/{first}/data/users/alice") / "gone.txt").exists()
    assert os.readlink(new / "evil") == "/etc/shadow"  # a link, never the file it names
    meta = server.path(f"{SNAPSHOTS}/{second}/meta")
    assert sorted(os.listdir(meta)) == [
        "datakeeper.toml",
        "manifest.jsonl",
        "registry.json",
        "snapshot.json",
    ]
    assert {oct(os.stat(meta / name).st_mode & 0o777) for name in os.listdir(meta)} == {"0o600"}
    rows = _listed(server)
    assert [(row["name"], row["state"]) for row in rows] == [
        (first, "complete"),
        (second, "complete"),
    ]
    assert rows[1]["added_bytes"] == 3  # only edit.txt is new
    assert rows[1]["users"]["alice"] == len("keep\nv2\n")


def test_members_can_neither_read_nor_write_snapshots(alice):
    server = alice
    name = _snapshot(server)
    own_file = f"{SNAPSHOTS}/{name}/data/users/alice/keep.txt"
    for member in ("alice", "admin"):
        for argv in (
            ["ls", SNAPSHOTS],
            ["cat", own_file],
            ["touch", f"{SNAPSHOTS}/planted"],
            ["rm", "-rf", f"{SNAPSHOTS}/{name}"],
            ["mv", "/backup/datakeeper", "/backup/moved"],
        ):
            result = server.run(argv, user=member, check=False)
            assert result.returncode != 0, (member, argv, result.stdout)
    info = os.stat(server.path("/backup/datakeeper"))
    assert (info.st_uid, info.st_mode & 0o777) == (0, 0o700)
    assert os.stat(server.path(SNAPSHOTS)).st_mode & 0o777 == 0o700
    assert server.path(own_file).read_text() == "keep\n"


def test_a_member_cannot_plant_the_backup_folder(site):
    server = site
    add_linked_member(server, "alice")
    server.run(["ln", "-s", HOME, "/backup/datakeeper"], user="alice")
    refused = server.datakeeper("backup", "run", check=False)
    assert refused.returncode == 3, refused.stderr
    assert "/backup/datakeeper is not a directory of root's" in refused.stderr
    assert os.listdir(server.path(HOME)) == []


def test_verify_finds_a_flipped_byte(alice):
    server = alice
    name = _snapshot(server)
    assert _run(server, "verify")["ok"] is True
    victim = f"{SNAPSHOTS}/{name}/data/users/alice/keep.txt"
    flip = "import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[0] ^= 1; " + (
        "open(p, 'r+b').write(b)"
    )
    server.run(["cp", "-p", victim, "/root/reference"])
    server.run(["python3", "-c", flip, victim])
    server.run(["touch", "-r", "/root/reference", victim])  # same size, same mtime
    result = server.datakeeper("backup", "verify", name[:10], check=False)
    assert result.returncode == 1, result.stderr
    assert "changed: users/alice/keep.txt" in result.stdout
    assert "DAMAGED: 0 missing, 1 changed, 0 extra" in result.stdout
    assert _listed(server)[0]["state"] == "damaged"


def test_non_utf8_names_are_backed_up_and_verified(alice):
    server = alice
    server.run(["sh", "-c", f"printf x > {HOME}/$(printf 'caf\\351')"], user="alice")
    name = _snapshot(server)
    folder = os.fsencode(server.path(f"{SNAPSHOTS}/{name}/data/users/alice"))
    assert b"caf\xe9" in os.listdir(folder)
    manifest = server.path(f"{SNAPSHOTS}/{name}/meta/manifest.jsonl")
    paths = [os.fsencode(entry.path) for entry in read_manifest(manifest)]
    assert b"users/alice/caf\xe9" in paths
    verdict = _run(server, "verify")
    assert verdict["ok"] is True
    assert verdict["checked"] == len(paths)


SLOW = NO_SOFTWARE + "\n[backup]\nbwlimit_kib = 1000\n"


@pytest.mark.parametrize("site_config", [SLOW])
def test_a_killed_run_is_never_complete_and_the_next_one_resumes_it(alice):
    server = alice
    server.run(["dd", "if=/dev/urandom", f"of={HOME}/big.bin", "bs=1M", "count=8"])
    server.run(["sh", "-c", f"echo soon deleted > {HOME}/a-gone.txt"])  # sorted before big.bin
    command = f"{sys.executable} -m datakeeper backup run > /root/run.out 2>&1 & echo $!"
    runner = server.run(["sh", "-c", command]).stdout.strip()
    partial = _wait_for_partial(server)
    copied = f"{SNAPSHOTS}/{partial}.partial/data/users/alice/a-gone.txt"
    _wait_until(lambda: server.path(copied).is_file(), "the small file was never copied")
    pids = server.run(["pgrep", "-x", "rsync"]).stdout.split()
    assert pids
    server.run(["kill", "-KILL", *pids])
    _wait_gone(server, runner)
    server.run(["rm", f"{HOME}/a-gone.txt"])  # deleted before the run resumes
    assert "rsync failed: killed by signal 9" in server.path("/root/run.out").read_text()
    rows = _listed(server)
    assert [(row["name"], row["state"]) for row in rows] == [(partial, "partial")]

    config = server.path("/data/config/datakeeper.toml")
    config.write_text(config.read_text().replace("bwlimit_kib = 1000", "bwlimit_kib = 0"))
    report = _run(server, "run")
    assert report["plan"]["resumes"] == f"{partial}.partial"
    name = report["snapshot"]["name"]
    assert [(row["name"], row["state"]) for row in _listed(server)] == [(name, "complete")]
    assert not server.path(f"{SNAPSHOTS}/{name}/data/users/alice/a-gone.txt").exists()
    assert server.path(f"{SNAPSHOTS}/{name}/data/users/alice/big.bin").stat().st_size == 8 << 20
    assert _run(server, "verify")["ok"] is True


def _wait_until(condition, failure: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def _wait_for_partial(server) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.path(SNAPSHOTS).is_dir():
            found = [n for n in os.listdir(server.path(SNAPSHOTS)) if n.endswith(".partial")]
            if found and server.run(["pgrep", "-x", "rsync"], check=False).returncode == 0:
                return found[0].removesuffix(".partial")
        time.sleep(0.1)
    raise AssertionError("no partial snapshot appeared")


def _wait_gone(server, pid: str) -> None:
    deadline = time.monotonic() + 60
    while server.run(["kill", "-0", pid], check=False).returncode == 0:
        assert time.monotonic() < deadline, "the run did not end after rsync was killed"
        time.sleep(0.1)


@pytest.fixture
def small_backup(tmp_path):
    """A site whose /backup is a 64 MiB ext4 disk, so its use is the test's alone."""
    storage = [StorageSpec("/data"), StorageSpec("/backup", kind="ext4", size_mb=64)]
    for server in boot_server(tmp_path, storage):
        prepare_site(server, NO_SOFTWARE)
        assert json.loads(init_site(server).stdout)["ok"]
        add_linked_member(server, "alice")
        yield server


def test_a_run_that_would_pass_the_alert_threshold_writes_nothing(small_backup):
    server = small_backup
    server.run(["dd", "if=/dev/urandom", f"of={HOME}/big.bin", "bs=1M", "count=48"])
    listing = ["find", "/backup", "-printf", "%p %s %m %u\\n"]
    before = server.run(listing).stdout
    refused = server.datakeeper("backup", "run", check=False)
    assert refused.returncode == 3, refused.stderr
    assert "alert threshold 80%" in refused.stderr
    assert "backup prune" in refused.stderr
    assert server.run(listing).stdout == before
    dry = server.datakeeper("backup", "run", "--dry-run", check=False)
    assert dry.returncode == 3, dry.stderr
    server.run(["rm", f"{HOME}/big.bin"])
    _snapshot(server)  # with room, the same run goes through


def test_a_finished_snapshot_is_on_the_disk_not_only_in_memory(small_backup, tmp_path):
    """A power cut right after the run: /backup's disk image as it is on the disk,
    its journal replayed as the next mount would (e2fsck on a copy), then read with
    debugfs, past the page cache. The snapshot's name is there, so must its files be."""
    server = small_backup
    payload = os.urandom(3000).hex()  # far under the kernel's own flush thresholds
    server.run(["sh", "-c", f"echo {payload} > {HOME}/notes.txt"], user="alice")
    name = _snapshot(server)
    image = tmp_path / "after-power-cut.img"
    shutil.copyfile(server.storage_image("/backup"), image)
    replay = ["e2fsck", "-y", "-E", "journal_only", str(image)]
    subprocess.run(replay, capture_output=True, check=True)

    def on_disk(inside: str) -> str:
        argv = ["debugfs", "-R", f"cat /datakeeper/snapshots/{name}/{inside}", str(image)]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    assert on_disk("data/users/alice/notes.txt") == payload + "\n"
    assert '"users/alice/notes.txt"' in on_disk("meta/manifest.jsonl")
