"""The real ``Features``: each method reaches the feature the CLI uses, with its arguments."""

from __future__ import annotations

import grp
from pathlib import Path

from datakeeper.config import parse_config
from datakeeper.features.gpu import snapshot
from datakeeper.features.gpu.snapshot import GpuProcess, GpuSnapshot
from datakeeper.features.setup.config_file import Answers
from datakeeper.system import accounts, logindefs
from datakeeper.tui.features import Features

CONFIG = 'admin = "admin"\n[storage]\ndata_root = "{root}"\nbackup_root = ""\n'


def _cfg(root: Path):
    return parse_config(CONFIG.format(root=root), "test.toml")


def test_the_config_path_is_the_one_given(tmp_path):
    assert Features(tmp_path / "x.toml").config_path() == tmp_path / "x.toml"


def test_setup_defaults_are_inits_for_a_new_config_and_keep_for_an_existing_one(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SUDO_USER", "alice")
    new = Features(tmp_path / "new.toml").setup_defaults()
    assert (new.group, new.admin, new.data_root) == ("gpu-users", "alice", "/data")
    existing = tmp_path / "old.toml"
    existing.write_text('group = "lab"\nadmin = "carol"\n')
    assert Features(existing).setup_defaults() == Answers()
    existing.write_text('group = "lab"\n')  # written by hand: no admin yet
    assert Features(existing).setup_defaults() == Answers(admin="alice")


def test_user_groups_are_the_shared_non_system_ones(monkeypatch, tmp_path):
    entries = [
        grp.struct_group(("root", "x", 0, [])),
        grp.struct_group(("alice", "x", 1001, [])),  # alice's personal group
        grp.struct_group(("lab", "x", 1500, ["alice"])),
        grp.struct_group(("gpu-users", "x", 1600, [])),  # the site group: always added
        grp.struct_group(("nogroup", "x", 65534, [])),
    ]
    monkeypatch.setattr(grp, "getgrall", lambda: entries)
    monkeypatch.setattr(accounts, "primary_users", lambda gid: ("alice",) if gid == 1001 else ())
    monkeypatch.setattr(logindefs, "uid_min", lambda: 1000)
    monkeypatch.setattr(logindefs, "uid_max", lambda: 60000)
    cfg = parse_config('group = "gpu-users"\n', "t.toml")
    assert Features().user_groups(cfg) == ["lab"]


def test_cache_methods_reach_the_cache_feature(monkeypatch, tmp_path):
    from datakeeper.features.caches import clean as caches

    calls = []
    monkeypatch.setattr(caches, "list_caches", lambda cfg: calls.append("list") or ["row"])
    monkeypatch.setattr(caches, "plan_clean", lambda cfg, k, a: calls.append((k, a)) or ["plan"])
    monkeypatch.setattr(caches, "clean", lambda plans: calls.append(plans) or plans)
    features, cfg = Features(), _cfg(tmp_path)
    assert features.list_caches(cfg) == ["row"]
    assert features.plan_clean(cfg, ["conda"], 30) == ["plan"]
    assert features.clean_caches(["plan"]) == ["plan"]
    assert calls == ["list", (["conda"], 30), ["plan"]]


def test_setup_steps_and_run_setup_reach_the_setup_feature(monkeypatch, tmp_path):
    from datakeeper.features.setup import init
    from datakeeper.features.setup.steps import SetupContext

    context = SetupContext(_cfg(tmp_path), tmp_path / "c.toml", b"")
    steps = Features().setup_steps(context)
    assert tuple(s.key for s in steps) == ("GROUP", "STORAGE", "FOLDERS", "ADMIN", "ENV", "SUDO")
    assert [s.key for s in steps if not s.critical] == ["ENV", "SUDO"]
    calls = []
    monkeypatch.setattr(init, "run_setup", lambda ctx, **kw: calls.append((ctx, kw)) or "report")
    assert Features().run_setup(context, dry_run=True, reporter=None, only=("ADMIN",)) == "report"
    assert calls == [(context, {"dry_run": True, "reporter": None, "only": ("ADMIN",)})]


def test_the_gpu_view_is_the_real_nvml_one_filtered_for_a_member(monkeypatch):
    mine = GpuProcess(1, 0, 1, 4321, "alice", "python", True)
    other = GpuProcess(2, 0, 1, 1234, "bob", "python", True)
    monkeypatch.setattr(
        snapshot, "take_snapshot", lambda: GpuSnapshot(True, 0.0, processes=[mine, other])
    )
    monkeypatch.setattr("os.geteuid", lambda: 4321)
    assert Features().gpu_view(mine_only=True).mine == [mine]
    assert Features().gpu_view(mine_only=False).mine == [mine, other]
