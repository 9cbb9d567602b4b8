"""Several servers sharing /data, without root: node records, their status, drift
against the registry, the node-sync units, root_squash and slow-storage messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import ConfigError, RefusedError, StorageTimeoutError
from datakeeper.features.cluster import drift, listing, units
from datakeeper.features.cluster import state as node_state
from datakeeper.registry import RegistryDocument, RegistryEntry, open_registry, read_document, store
from datakeeper.status import NodeStatus
from datakeeper.system import accounts, nfs
from datakeeper.system.accounts import GroupInfo, UserInfo

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def entry(name: str, uid: int) -> RegistryEntry:
    return RegistryEntry(name=name, uid=uid, gid=uid, primary_group=name)


@pytest.fixture
def cfg(tmp_path: Path):
    text = f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n'
    site = parse_config(text, "test")
    site.state_dir.mkdir(parents=True)
    return site


@pytest.fixture
def system(monkeypatch):
    """Accounts on 'this node', as a dict the test fills: name -> (uid, gid)."""
    users: dict[str, tuple[int, int]] = {}

    def by_name(name: str):
        if name not in users:
            return None
        uid, gid = users[name]
        return UserInfo(name, uid, gid, "", f"/home/{name}", "/bin/bash")

    def by_uid(uid: int):
        return next((by_name(n) for n, (u, _g) in users.items() if u == uid), None)

    monkeypatch.setattr(accounts, "user_by_name", by_name)
    monkeypatch.setattr(accounts, "user_by_uid", by_uid)
    monkeypatch.setattr(accounts, "group_by_name", lambda name: GroupInfo(name, 2000, ()))
    return users


# --- node records ----------------------------------------------------------------


def test_a_record_is_written_whole_root_only_and_listed(cfg) -> None:
    node_state.beat(cfg, "gpu1", generation=3, last_ok=True)
    node_state.beat(cfg, "gpu2")
    path = node_state.node_path(cfg, "gpu1")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert json.loads(path.read_text())["generation"] == 3
    assert [s.hostname for s in node_state.list_nodes(cfg)] == ["gpu1", "gpu2"]
    assert not list(path.parent.glob("*.tmp"))


def test_a_beat_keeps_what_the_last_sync_recorded(cfg) -> None:
    node_state.beat(cfg, "gpu1", generation=7, drift=["x: missing here"])
    again = node_state.beat(cfg, "gpu1")
    assert (again.generation, again.drift) == (7, ["x: missing here"])


def test_an_unreadable_record_is_left_out(cfg) -> None:
    node_state.beat(cfg, "gpu1")
    (node_state.nodes_dir(cfg) / "broken.json").write_text("{not json")
    assert [s.hostname for s in node_state.list_nodes(cfg)] == ["gpu1"]


def test_a_host_name_that_cannot_name_a_file_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(node_state.socket, "gethostname", lambda: "../etc")
    with pytest.raises(Exception, match="cannot name a node record"):
        node_state.this_host()


@pytest.mark.parametrize(
    ("changes", "age", "expected"),
    [
        ({"generation": 5, "last_ok": True}, 10, NodeStatus.UP_TO_DATE),
        ({"generation": 4, "last_ok": True}, 10, NodeStatus.BEHIND),
        ({"generation": 5, "drift": ["bob: missing here"]}, 10, NodeStatus.DRIFT),
        ({"generation": 5, "last_ok": False}, 10, NodeStatus.FAILED),
        ({"generation": 5, "last_ok": True}, 301, NodeStatus.STALE),
        ({"generation": 5}, None, NodeStatus.STALE),
    ],
)
def test_a_node_is_judged_against_the_registry_now(changes, age, expected) -> None:
    state = node_state.NodeState("gpu1", **changes)
    assert listing.judge(state, 5, age, 300) == expected


def test_node_list_ages_each_heartbeat(cfg) -> None:
    with open_registry(cfg.registry_path) as registry:
        registry.upsert(entry("alice", 1001))
    stamp = (NOW - timedelta(seconds=42)).isoformat()
    state = node_state.NodeState("gpu1", heartbeat=stamp, generation=1, last_ok=True)
    node_state.write_node(cfg, state)
    nodes = listing.node_list(cfg, now=NOW)
    assert nodes.generation == 1
    assert nodes.as_dict()["nodes"][0]["heartbeat_age_s"] == 42
    assert nodes.as_dict()["nodes"][0]["status"] == "up to date"


# --- drift -------------------------------------------------------------------


def test_drift_names_missing_accounts_foreign_uid_holders_and_leftovers(system) -> None:
    document = RegistryDocument(
        users={
            "alice": entry("alice", 1001),
            "bob": entry("bob", 1002),
            "carol": entry("carol", 1003),
        },
        retired={"dave": 1004},
    )
    system.update({"alice": (1001, 1001), "mallory": (1002, 1002), "dave": (1004, 1004)})
    system["carol"] = (1010, 1010)
    found = drift.node_drift(document)
    assert "bob: its uid 1002 is held here by local account mallory" in found
    assert "carol: uid/gid 1010/1010 here, 1003/1003 in the registry" in found
    assert "dave: removed from the registry, still an account here" in found
    assert not any(line.startswith("alice") for line in found)
    assert drift.stale_accounts(document) == ["dave"]


def test_a_leftover_with_another_uid_is_not_someone_we_removed(system) -> None:
    system["dave"] = (1500, 1500)  # a local account of that name, not the removed one
    assert drift.stale_accounts(RegistryDocument(retired={"dave": 1004})) == []


def test_homes_all_shown_as_nobody_mean_an_idmap_mismatch(cfg, monkeypatch) -> None:
    for name in ("alice", "bob"):
        (cfg.users_dir / name).mkdir(parents=True)
    document = RegistryDocument(users={"alice": entry("alice", 1001), "bob": entry("bob", 1002)})
    assert drift.idmap_problem(cfg, document) is None
    monkeypatch.setattr(nfs, "nobody_owned", lambda paths: list(paths))
    monkeypatch.setattr(drift, "nobody_owned", lambda paths: list(paths))
    problem = drift.idmap_problem(cfg, document)
    assert problem is not None and "idmap" in problem and "/etc/idmapd.conf" in problem


# --- the node-sync units and [cluster] ---------------------------------------


def test_the_timer_runs_every_sync_interval_and_the_path_unit_watches_the_registry(cfg) -> None:
    files = {path.name: text for path, text in units.unit_files(cfg, Path("/c.toml")).items()}
    assert "OnUnitActiveSec=30s" in files[units.TIMER]
    assert f"PathChanged={cfg.registry_path}" in files[units.PATH_UNIT]
    assert "node sync" in files[units.SERVICE].replace("'", "")


def test_cluster_section_sets_the_interval_within_bounds(tmp_path: Path) -> None:
    base = f'[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n'
    site = parse_config(base + "[cluster]\nsync_interval = 10\n", "t")
    assert site.cluster.sync_interval == 10
    assert parse_config(base, "t").cluster.sync_interval <= 60
    with pytest.raises(ConfigError, match="sync_interval"):
        parse_config(base + "[cluster]\nsync_interval = 1\n", "t")


def test_nothing_is_installed_until_a_node_joined(cfg) -> None:
    assert units.enabled_resources(cfg, Path("/c.toml")) == []


# --- NFS realities -------------------------------------------------------------


def test_the_root_squash_refusal_is_one_line_naming_the_fixes(tmp_path: Path) -> None:
    message = str(nfs.squash_error(tmp_path))
    assert "\n" not in message
    assert "root_squash" in message and "no_root_squash" in message and "state_dir" in message


def test_a_probe_owned_by_nobody_is_a_squashed_root(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(nfs.os, "geteuid", lambda: 0)
    real_fstat = os.fstat
    monkeypatch.setattr(
        nfs.os,
        "fstat",
        lambda fd: os.stat_result((*real_fstat(fd)[:4], 65534, *real_fstat(fd)[5:])),
    )
    with pytest.raises(RefusedError, match="no_root_squash"):
        nfs.probe_root_write(tmp_path)
    assert list(tmp_path.iterdir()) == [], "the probe is removed"


def test_a_probe_refused_to_root_is_a_squashed_root(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(nfs.os, "geteuid", lambda: 0)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(nfs.os, "open", refuse)
    with pytest.raises(RefusedError, match="root_squash"):
        nfs.probe_root_write(tmp_path)


def test_a_registry_read_that_hangs_gives_up_with_a_message(cfg, monkeypatch) -> None:
    with open_registry(cfg.registry_path) as registry:
        registry.upsert(entry("alice", 1001))
    monkeypatch.setenv(store.READ_TIMEOUT_ENV, "0.2")
    monkeypatch.setattr(store, "_read_trusted", lambda path: time.sleep(5))
    started = time.monotonic()
    with pytest.raises(StorageTimeoutError) as caught:
        read_document(cfg.registry_path)
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "did not answer within 0.2 s" in message and "NFS" in message and "\n" not in message


# --- node list through the real command -----------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="node list is root's (the records are 0600)")
def test_node_list_shows_every_node_and_exits_1_when_one_is_behind(cfg, tmp_path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n')
    with open_registry(cfg.registry_path) as registry:
        registry.upsert(entry("alice", 1001))
    node_state.beat(cfg, "gpu1", generation=1, last_ok=True)
    node_state.beat(cfg, "gpu2", generation=0, last_ok=True)
    script = Path(sys.executable).parent / "datakeeper"
    argv = [str(script), "--config", str(config), "node", "list"]
    result = subprocess.run([*argv, "--json"], capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stderr
    listed = json.loads(result.stdout)
    assert listed["generation"] == 1
    assert {n["hostname"]: n["status"] for n in listed["nodes"]} == {
        "gpu1": "up to date",
        "gpu2": "behind",
    }
    plain = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    assert "gpu2\tbehind\t0\t" in plain
    assert "registry generation 1" in plain
