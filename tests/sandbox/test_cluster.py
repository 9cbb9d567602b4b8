"""Two servers at the same time, one shared /data, separate SSDs: the accounts follow
the shared registry on both (issue 17).

/data is one host directory bound into both servers, as NFS mounts one export on
every node: the registry's POSIX record lock and every file are shared. The plain
sandbox runs no systemd, so node B converges by running what its node-sync unit
runs (its ExecStart, read from the unit ``node join`` installed).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.sandbox import DisposableServer, StorageSpec
from tests.support.server_fixtures import boot_server
from tests.support.site_setup import NO_SOFTWARE, init_site, prepare_site

pytestmark = pytest.mark.sandbox

SYNC_UNIT = "/etc/systemd/system/datakeeper-node-sync.service"
REGISTRY = "/data/config/datakeeper/registry.json"
ADDS = 50
DATAKEEPER = shlex.join([sys.executable, "-m", "datakeeper"])


def _node(tmp_path: Path, shared: Path, name: str) -> Iterator[DisposableServer]:
    storage = [StorageSpec("/data", source=str(shared)), StorageSpec("/backup")]
    yield from boot_server(tmp_path / name, storage, hostname=name)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[DisposableServer, DisposableServer]]:
    """Node A with an initialized site, node B fresh; both joined."""
    shared = tmp_path / "shared-data"
    shared.mkdir(mode=0o755)
    for a in _node(tmp_path, shared, "node-a"):
        for b in _node(tmp_path, shared, "node-b"):
            prepare_site(a)
            assert json.loads(init_site(a).stdout)["ok"]
            a.datakeeper("node", "join")
            joined = b.datakeeper("--json", "node", "join")
            assert json.loads(joined.stdout)["ok"], joined.stdout
            yield a, b


def _passwd(server: DisposableServer, name: str) -> str | None:
    result = server.run(["getent", "passwd", name], check=False)
    return result.stdout.strip() or None


def _unit_sync(server: DisposableServer) -> subprocess.CompletedProcess:
    """What the node-sync unit runs (its ExecStart), as systemd would run it."""
    unit = server.path(SYNC_UNIT).read_text()
    line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    return server.run(shlex.split(line.removeprefix("ExecStart=")), timeout=300)


def _add_many(server: DisposableServer, prefix: str, count: int) -> str:
    """``user add PREFIX1`` … ``PREFIXcount`` one after the other; the failures' output."""
    script = (
        f"for i in $(seq 1 {count}); do {DATAKEEPER} --yes user add {prefix}$i >/dev/null "
        f"2>/tmp/add.err || {{ echo failed {prefix}$i; cat /tmp/add.err; }}; done"
    )
    return server.run(["sh", "-c", script], timeout=1800).stdout


def _registry(server: DisposableServer) -> dict:
    return json.loads(server.path(REGISTRY).read_text())


def test_a_user_added_on_a_reaches_b_by_its_node_sync(nodes) -> None:
    a, b = nodes
    a.datakeeper("--yes", "user", "add", "alice")
    assert _passwd(b, "alice") is None
    started = time.monotonic()
    _unit_sync(b)
    took = time.monotonic() - started
    assert _passwd(b, "alice") == _passwd(a, "alice")
    assert b.run(["stat", "-c", "%U", "/home/alice/"]).stdout.strip() == "alice"
    assert took < 60, f"the sync took {took:.0f} s, more than the default interval"
    # Nothing moved since: the next run only beats the heartbeat.
    again = json.loads(b.datakeeper("--json", "node", "sync").stdout)
    assert again["ran"] is False
    listed = a.datakeeper("--json", "node", "list", check=False)
    statuses = {n["hostname"]: n["status"] for n in json.loads(listed.stdout)["nodes"]}
    # A made the change itself, but its own sync has not run since: "behind", exit 1.
    assert statuses == {"node-a": "behind", "node-b": "up to date"}
    assert listed.returncode == 1
    _unit_sync(a)
    assert a.datakeeper("node", "list").returncode == 0


def test_the_sync_units_are_installed_and_bring_themselves_back(nodes) -> None:
    _a, b = nodes
    timer = "/etc/systemd/system/datakeeper-node-sync.timer"
    assert "OnUnitActiveSec=30s" in b.path(timer).read_text()
    path_unit = b.path("/etc/systemd/system/datakeeper-node-sync.path").read_text()
    assert f"PathChanged={REGISTRY}" in path_unit
    again = json.loads(b.datakeeper("--json", "node", "join").stdout)
    assert again["units"] == [], "a second join changes nothing"
    assert again["recovery"]["summary"].startswith("0 users recovered")
    b.reboot()  # the wipe takes the units; recover brings them back with the accounts
    assert not b.path(timer).exists()
    b.datakeeper("recover", timeout=300)
    assert "OnUnitActiveSec=30s" in b.path(timer).read_text()


def test_concurrent_adds_on_both_nodes_never_share_an_id(nodes) -> None:
    a, b = nodes
    with ThreadPoolExecutor(2) as pool:
        loops = [
            pool.submit(_add_many, server, prefix, ADDS) for server, prefix in ((a, "a"), (b, "b"))
        ]
        outputs = [loop.result() for loop in loops]
    assert outputs == ["", ""], outputs
    registry = _registry(a)  # datakeeper validated it on every write; read it raw here
    users = registry["users"]
    names = {f"{p}{i}" for p in ("a", "b") for i in range(1, ADDS + 1)}
    assert names <= set(users)
    uids = [entry["uid"] for entry in users.values()]
    assert len(uids) == len(set(uids)), "a uid was handed out twice"
    assert registry["generation"] >= 2 * ADDS
    a.datakeeper("check", check=False)  # reads the registry: valid JSON, valid model
    _unit_sync(a)
    _unit_sync(b)
    for name in ("a1", "b1", f"a{ADDS}", f"b{ADDS}"):
        assert _passwd(a, name) == _passwd(b, name)


def test_b_is_wiped_and_recovers_while_a_keeps_adding(nodes) -> None:
    a, b = nodes
    with ThreadPoolExecutor(1) as pool:
        adding = pool.submit(_add_many, a, "w", 10)
        b.reboot()
        assert _passwd(b, "admin") is None, "the wipe took the accounts"
        b.datakeeper("recover", timeout=300)
        assert adding.result() == ""
    _unit_sync(b)
    for i in range(1, 11):
        assert _passwd(b, f"w{i}") == _passwd(a, f"w{i}")
    assert _passwd(b, "admin") == _passwd(a, "admin")


def test_a_user_removed_on_b_goes_on_a_too(nodes) -> None:
    a, b = nodes
    a.datakeeper("--yes", "user", "add", "bob")
    _unit_sync(b)
    assert _passwd(b, "bob") is not None
    b.datakeeper("--yes", "user", "remove", "bob")
    assert _passwd(b, "bob") is None
    _unit_sync(a)
    assert _passwd(a, "bob") is None
    assert not a.path("/home/bob").is_symlink()
    assert a.path("/data/users/bob").is_dir(), "the data stays (remove keeps it by default)"
    report = json.loads(a.datakeeper("--json", "node", "sync").stdout)
    assert report["drift"] == []


def test_check_on_b_reports_a_local_account_holding_a_registered_uid(nodes) -> None:
    a, b = nodes
    a.datakeeper("--yes", "user", "add", "carol")
    uid = a.run(["id", "-u", "carol"]).stdout.strip()
    b.run(["useradd", "-M", "-u", uid, "intruder"])
    result = b.datakeeper("--json", "check", check=False)
    assert result.returncode == 1
    lines = json.loads(result.stdout[result.stdout.index("{") :])["results"]
    failed = [line["detail"] for line in lines if line["status"] == "FAIL"]
    assert f"uid {uid} is held here by local account intruder" in failed


@pytest.fixture
def systemd_pair(tmp_path: Path) -> Iterator[tuple[DisposableServer, DisposableServer]]:
    """Node A (plain) with a site whose [cluster] sync_interval is 5 s, and node B under
    the real systemd, both joined: B's path unit and timer run its syncs."""
    shared = tmp_path / "shared-data"
    shared.mkdir(mode=0o755)
    for a in _node(tmp_path, shared, "node-a"):
        storage = [StorageSpec("/data", source=str(shared)), StorageSpec("/backup")]
        for b in boot_server(tmp_path / "node-b", storage, hostname="node-b", init="systemd"):
            prepare_site(a, NO_SOFTWARE + "[cluster]\nsync_interval = 5\n")
            assert json.loads(init_site(a).stdout)["ok"]
            b.datakeeper("node", "join", timeout=300)
            yield a, b


def _wait_for_account(server: DisposableServer, name: str, limit: float) -> float | None:
    """Seconds until ``name`` exists on ``server``, or None after ``limit`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if _passwd(server, name) is not None:
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def test_under_systemd_b_follows_within_the_interval_with_no_action(systemd_pair) -> None:
    a, b = systemd_pair
    for unit in ("datakeeper-node-sync.path", "datakeeper-node-sync.timer"):
        state = b.run(["systemctl", "is-active", unit], check=False).stdout.strip()
        assert state == "active", unit
    a.datakeeper("--yes", "user", "add", "alice")
    took = _wait_for_account(b, "alice", 30)
    assert took is not None, b.journal("-u", "datakeeper-node-sync.service")
    assert _passwd(b, "alice") == _passwd(a, "alice")
    # A removal too, with nobody touching B.
    a.datakeeper("--yes", "user", "remove", "alice")
    deadline = time.monotonic() + 30
    while _passwd(b, "alice") is not None:
        assert time.monotonic() < deadline, b.journal("-u", "datakeeper-node-sync.service")
        time.sleep(0.2)
