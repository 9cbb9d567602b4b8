"""Cache kinds, ages, methods and the helper's torch/conda/lock rules (no sandbox)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import (
    ExitCode,
    InvalidInputError,
    LockBusyError,
    RefusedError,
    StorageNotPersistentError,
)
from datakeeper.features.caches import clean as caches
from datakeeper.features.caches import kinds as cache_kinds
from datakeeper.features.caches import methods as cache_methods
from datakeeper.features.caches.methods import (
    BuiltIn,
    CondaClean,
    Delegate,
    HubClean,
    ToolClean,
    Unavailable,
    shared_cache_lock,
)
from datakeeper.features.caches.report import CleanRun, KindReport
from datakeeper.features.setup.sudo import render_helper_script, sudoers_commands
from datakeeper.helper import main as helper
from datakeeper.status import CleanupStatus
from datakeeper.storage import write_marker

DAY = 86400
OLD = time.time() - 100 * DAY
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (storage marker, lock)")
# The admin lock is a POSIX record lock (it may live on NFS); the cache locks are the
# flock the sudo helper takes too.
HOLD = (
    "import fcntl,sys,time; f=open(sys.argv[1],'w'); "
    "getattr(fcntl, sys.argv[2])(f, fcntl.LOCK_EX); "
    "print('ready', flush=True); time.sleep(30)"
)


def _config(tmp_path: Path, extra: str = ""):
    text = f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n{extra}'
    return parse_config(text, "test")


def _file(path: Path, data: bytes = b"x", when: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if when is not None:
        os.utime(path, (when, when))
    return path


@pytest.fixture
def cfg(tmp_path):
    cfg = _config(tmp_path)
    for sub in ("cache/conda/pkgs", "models/huggingface/hub", "models/torch/hub"):
        (tmp_path / "data" / sub).mkdir(parents=True)
    return cfg


@pytest.fixture
def marked(cfg, tmp_path):
    """The site with its data root marked persistent (the storage guard lets it pass)."""
    write_marker(tmp_path / "data", role="data")
    return cfg


@contextmanager
def held(lock: Path) -> Iterator[None]:
    """Another process holds ``lock`` for the block (``lockf`` for the admin lock, else
    ``flock``); it is ended by its pid."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    call = "lockf" if lock.name == "run.lock" else "flock"
    argv = [sys.executable, "-c", HOLD, str(lock), call]
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as p:
        try:
            assert p.stdout.readline().strip() == b"ready"
            yield
        finally:
            p.kill()


def _records(cfg) -> list[dict]:
    if not cfg.action_log_path.exists():
        return []
    return [json.loads(line) for line in cfg.action_log_path.read_text().splitlines()]


# -- where caches are, and how big ------------------------------------------------


def test_locations_follow_the_site_env_and_the_invoking_home(cfg, tmp_path):
    found = {loc.label: loc for loc in cache_kinds.locations(cfg, home=tmp_path / "home")}
    data = tmp_path / "data"
    assert found["conda packages"].path == data / "cache/conda/pkgs"
    assert found["huggingface hub"].path == data / "models/huggingface/hub"
    assert found["huggingface datasets"].path == data / "models/huggingface/datasets"
    assert not found["huggingface datasets"].cleanable
    assert found["torch hub"].path == data / "models/torch/hub"
    assert found["pip"].path == tmp_path / "home/.cache/pip"
    assert (found["uv"].path, found["uv"].shared) == (tmp_path / "home/.cache/uv", False)


def test_locations_only_for_the_kinds_the_site_lists(tmp_path):
    cfg = _config(tmp_path, '[cache]\nkinds = ["pip", "torch"]\n')
    assert [loc.kind for loc in cache_kinds.locations(cfg, home=tmp_path)] == ["torch", "pip"]


def test_measure_counts_allocated_size_files_and_oldest_access_once_per_inode(tmp_path):
    _file(tmp_path / "c/a", b"x" * 10000, when=OLD)
    _file(tmp_path / "c/sub/b", b"y")
    os.link(tmp_path / "c/a", tmp_path / "c/sub/a-again")
    (tmp_path / "c/link").symlink_to("/etc")
    usage = cache_kinds.measure(tmp_path / "c")
    assert usage.files == 3
    assert usage.oldest_access == pytest.approx(OLD)
    blocks = sum(os.lstat(p).st_blocks for p in (tmp_path / "c/a", tmp_path / "c/sub/b"))
    assert usage.size >= blocks * 512
    assert not cache_kinds.measure(tmp_path / "absent").exists


@pytest.mark.parametrize(("text", "days"), [("30d", 30), ("30", 30), ("2w", 14), ("0d", 0)])
def test_ages(text, days):
    assert cache_kinds.parse_age(text) == days


@pytest.mark.parametrize("text", ["", "-1d", "30m", "1.5d", "d", "30 days"])
def test_bad_ages_are_refused(text):
    with pytest.raises(InvalidInputError, match="--older-than"):
        cache_kinds.parse_age(text)


# -- which method -------------------------------------------------------------------


def test_root_cleans_shared_caches_in_process_and_members_through_sudo(cfg, tmp_path):
    by_kind = {loc.kind: loc for loc in cache_kinds.locations(cfg, home=tmp_path) if loc.cleanable}
    as_root = {k: caches.choose_method(cfg, loc, 30, root=True) for k, loc in by_kind.items()}
    assert isinstance(as_root["huggingface"], HubClean)
    assert type(as_root["torch"]) is BuiltIn
    assert type(as_root["conda"]) is BuiltIn  # an age: conda clean has none
    member = caches.choose_method(cfg, by_kind["torch"], 30, root=False)
    assert isinstance(member, Delegate)
    with pytest.raises(InvalidInputError, match="7d, 30d, 90d"):
        caches.choose_method(cfg, by_kind["torch"], 14, root=False)


def test_conda_clean_is_used_when_conda_is_installed_and_no_age_is_given(cfg, tmp_path):
    conda = tmp_path / "data/apps/miniconda3/bin/conda"
    _file(conda, b"#!/bin/sh\n").chmod(0o755)
    location = next(loc for loc in cache_kinds.locations(cfg, tmp_path) if loc.kind == "conda")
    method = caches.choose_method(cfg, location, None, root=True)
    assert isinstance(method, CondaClean) and method.conda == str(conda)


def test_members_get_nothing_when_the_site_allows_no_cleanup(tmp_path):
    cfg = _config(tmp_path, '[sudo]\nallow = ["disk-usage"]\n')
    location = next(loc for loc in cache_kinds.locations(cfg, tmp_path) if loc.kind == "torch")
    method = caches.choose_method(cfg, location, None, root=False)
    assert isinstance(method, Unavailable)
    with pytest.raises(RefusedError, match="does not let members"):
        method.scan()


def test_a_missing_tool_refuses_its_kind(cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(caches.shutil, "which", lambda name: None)
    location = next(loc for loc in cache_kinds.locations(cfg, tmp_path) if loc.kind == "uv")
    method = caches.choose_method(cfg, location, None, root=True)
    assert isinstance(method, Unavailable)
    assert "uv is not installed" in method.reason


def test_a_kind_the_site_does_not_clean_is_invalid(tmp_path):
    cfg = _config(tmp_path, '[cache]\nkinds = ["pip"]\n')
    with pytest.raises(InvalidInputError, match="--hf"):
        caches.plan_clean(cfg, ["huggingface"], None, home=tmp_path)


# -- cleaning as root, in process ------------------------------------------------------


@needs_root
def test_plan_then_clean_torch_and_conda(marked, tmp_path):
    data = tmp_path / "data"
    _file(data / "models/torch/hub/checkpoints/resnet.pth", b"w" * 100, when=OLD)
    _file(data / "models/torch/hub/checkpoints/vit.pth")
    _file(data / "models/torch/hub/org_repo_main/hubconf.py", when=OLD)
    os.utime(data / "models/torch/hub/org_repo_main", (OLD, OLD))
    _file(data / "cache/conda/pkgs/numpy.conda", when=OLD)
    plan = caches.plan_clean(marked, ["torch", "conda"], None, home=tmp_path)
    assert [(k.location.kind, k.resource.age_days, k.scan.files) for k in plan.kinds] == [
        ("conda", None, 1),
        ("torch", 30, 2),
    ]
    assert (data / "models/torch/hub/checkpoints/resnet.pth").exists()  # only planned
    done = caches.clean(plan)
    assert [k.status for k in done.kinds] == ["done", "done"]
    assert done.exit_code() == ExitCode.OK
    hub = data / "models/torch/hub"
    assert sorted(os.listdir(hub)) == ["checkpoints"]
    assert os.listdir(hub / "checkpoints") == ["vit.pth"]
    assert done.kinds[1].removed == 2


@needs_root
def test_root_leaves_one_action_log_record_per_cache_cleaned(marked, tmp_path):
    data = tmp_path / "data"
    _file(data / "cache/conda/pkgs/numpy.conda", b"n" * 5000, when=OLD)
    _file(data / "cache/conda/pkgs/scipy.tar.bz2", b"s" * 3000, when=OLD)
    plan = caches.plan_clean(marked, ["conda", "torch"], 0, home=tmp_path)
    done = caches.clean(plan)
    [record] = _records(marked)  # torch had nothing to remove: no record
    pkgs = data / "cache/conda/pkgs"
    assert record["resource"] == f"cache conda {pkgs}"
    assert record["change"] == f"remove 2 entries (7.8 KiB) from {pkgs}"
    assert (record["outcome"], record["details"]) == (
        "applied",
        {"result": "removed 2 entries, freed 7.8 KiB"},
    )
    assert done.as_dict()["caches"][0]["result"] == "removed 2 entries, freed 7.8 KiB"
    assert [k.status for k in done.kinds] == ["done", "nothing"]


@needs_root
def test_the_dry_run_changes_nothing_and_plans_what_the_real_run_applies(marked, tmp_path):
    data = tmp_path / "data"
    _file(data / "models/torch/hub/checkpoints/old.pth", b"o" * 2000, when=OLD)
    _file(data / "cache/conda/pkgs/numpy.conda", when=OLD)
    plan = caches.plan_clean(marked, ["conda", "torch"], None, home=tmp_path)
    assert (data / "models/torch/hub/checkpoints/old.pth").exists()
    assert (data / "cache/conda/pkgs/numpy.conda").exists()
    assert not marked.action_log_path.exists() and not (marked.state_dir / "run.lock").exists()
    planned = [k.as_dict()["change"] for k in plan.kinds]
    assert planned[1] == f"remove 1 entry (2.0 KiB) unused for 30 days from {data}/models/torch/hub"
    done = caches.clean(plan)
    assert [k.as_dict()["change"] for k in done.kinds] == planned
    assert [r["change"] for r in _records(marked)] == planned


@needs_root
def test_roots_cleanup_waits_for_the_admin_lock_then_gives_up(marked, tmp_path, monkeypatch):
    monkeypatch.setenv("DATAKEEPER_LOCK_TIMEOUT", "0")
    old = _file(tmp_path / "data/cache/conda/pkgs/numpy.conda", when=OLD)
    plan = caches.plan_clean(marked, ["conda"], None, home=tmp_path)  # a dry run: no lock
    assert plan.kinds[0].scan.files == 1
    with held(marked.state_dir / "run.lock"), pytest.raises(LockBusyError):
        caches.clean(plan)
    assert old.exists()
    assert _records(marked) == []


def test_an_unmarked_data_disk_refuses_even_the_plan(cfg, tmp_path):
    _file(tmp_path / "data/cache/conda/pkgs/numpy.conda", when=OLD)
    with pytest.raises(StorageNotPersistentError):
        caches.plan_clean(cfg, ["conda"], None, home=tmp_path)


def test_a_member_cleans_a_personal_cache_with_no_admin_lock_and_no_log(cfg, tmp_path, monkeypatch):
    cache = tmp_path / "home/.cache/pip"
    _file(cache / "http/a", b"x" * 5000)
    tool = _file(tmp_path / "fake-pip", f"#!/bin/sh\nrm -rf {cache}/http\n".encode())
    tool.chmod(0o755)
    monkeypatch.setattr(caches.shutil, "which", lambda name: str(tool) if "pip" in name else None)
    monkeypatch.setattr(caches, "running_as_root", lambda: False)
    plan = caches.plan_clean(cfg, ["pip"], None, home=tmp_path / "home")
    assert [(k.resource.method.name, k.scan.files) for k in plan.kinds] == [
        ("fake-pip cache purge", 1)
    ]
    assert (cache / "http/a").exists()
    with held(cfg.state_dir / "run.lock"):  # an admin's run does not hold a member back
        done = caches.clean(plan)
    assert (done.kinds[0].status, done.kinds[0].removed) == ("done", 1)
    assert not (cache / "http").exists()
    assert _records(cfg) == []


@needs_root
def test_a_held_cache_lock_makes_the_kind_busy(marked, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_methods, "LOCK_TIMEOUT", 0.2)
    marked.state_dir.mkdir(parents=True)
    _file(tmp_path / "data/cache/conda/pkgs/numpy.conda")
    plan = caches.plan_clean(marked, ["conda"], 0, home=tmp_path)
    with held(marked.state_dir / "cache-conda.lock"):
        done = caches.clean(plan)
    assert done.kinds[0].status == "busy"
    assert done.exit_code() == ExitCode.BUSY
    assert (tmp_path / "data/cache/conda/pkgs/numpy.conda").exists()
    [record] = _records(marked)
    assert record["outcome"] == "failed"


def test_the_cli_and_the_helper_share_one_lock_file(cfg, tmp_path):
    cfg.state_dir.mkdir(parents=True)
    policy = {**helper.POLICY, "lock_dir": str(cfg.state_dir)}
    with shared_cache_lock(cfg, "torch"):
        started = time.monotonic()
        old_wait, helper.LOCK_WAIT = helper.LOCK_WAIT, 0.2
        try:
            with pytest.raises(helper.Refused) as refused, helper.cache_lock(policy, "torch"):
                pass
        finally:
            helper.LOCK_WAIT = old_wait
    assert refused.value.code == helper.EXIT_BUSY
    assert time.monotonic() - started < 5
    with helper.cache_lock(policy, "torch"):  # free again
        pass


def test_a_tool_cleans_a_personal_cache(tmp_path):
    cache = tmp_path / "home/.cache/pip"
    _file(cache / "http/a", b"x" * 5000)
    tool = _file(tmp_path / "fake-pip", f"#!/bin/sh\nrm -rf {cache}/http\n".encode())
    tool.chmod(0o755)
    method = ToolClean("pip", cache, [str(tool), "cache", "purge"])
    assert method.scan().files == 1
    done = method.clean()
    assert (done.removed, done.failures) == (1, ())
    assert done.freed > 0
    assert not (cache / "http").exists()
    failing = ToolClean("pip", cache, ["/bin/false"])
    assert failing.clean().failures == ("/bin/false: exit code 1",)


def test_exit_codes():
    def run(*statuses):
        kinds = [KindReport(None, None, status=CleanupStatus(s)) for s in statuses]  # type: ignore[arg-type]
        return CleanRun(None, False, kinds)  # type: ignore[arg-type]

    assert run("done", "nothing").exit_code() == ExitCode.OK
    assert run("done", "busy").exit_code() == ExitCode.BUSY
    assert run("busy", "refused").exit_code() == ExitCode.FAILURE


# -- the helper: torch and conda ages, the rendered program ------------------------------


def _policy(tmp_path: Path) -> dict:
    roots = {"conda": "pkgs", "torch": "torch/hub", "huggingface": "hub"}
    caches_dirs = {kind: tmp_path / sub for kind, sub in roots.items()}
    for directory in caches_dirs.values():
        directory.mkdir(parents=True, exist_ok=True)
    return {
        "allow": ["cache-clean"],
        "caches": {kind: str(path) for kind, path in caches_dirs.items()},
        "storage_roots": [str(tmp_path)],
        "min_age_days": 0,
    }


def test_helper_torch_age_removes_unused_checkpoints_and_repos(tmp_path):
    policy = _policy(tmp_path)
    hub = Path(policy["caches"]["torch"])
    _file(hub / "checkpoints/old.pth", when=OLD)
    _file(hub / "checkpoints/new.pth")
    _file(hub / "owner_old_main/hubconf.py", when=OLD)
    os.utime(hub / "owner_old_main", (OLD, OLD))
    _file(hub / "owner_used_main/hubconf.py", when=OLD)
    _file(hub / "owner_used_main/models/x.py")  # used recently
    (hub / "owner_old_main/link").symlink_to("/etc")
    os.utime(hub / "owner_old_main/link", (OLD, OLD), follow_symlinks=False)
    os.utime(hub / "owner_old_main", (OLD, OLD))
    _file(hub / "trusted_list", when=OLD)
    assert helper.main(["cache-clean", "torch", "--older-than", "90d"], policy) == 0
    assert sorted(os.listdir(hub)) == ["checkpoints", "owner_used_main", "trusted_list"]
    assert os.listdir(hub / "checkpoints") == ["new.pth"]
    assert os.path.isdir("/etc")


def test_helper_conda_age_and_min_age_floor(tmp_path):
    policy = _policy(tmp_path)
    pkgs = Path(policy["caches"]["conda"])
    _file(pkgs / "a.conda", when=time.time() - 10 * DAY)
    _file(pkgs / "b.conda", when=time.time() - 40 * DAY)
    assert helper.main(["cache-clean", "conda", "--older-than", "30d"], policy) == 0
    assert os.listdir(pkgs) == ["a.conda"]
    floor = {**policy, "min_age_days": 60}
    _file(pkgs / "c.conda", when=time.time() - 40 * DAY)
    assert helper.main(["cache-clean", "conda", "--older-than", "7d"], floor) == 0
    assert sorted(os.listdir(pkgs)) == ["a.conda", "c.conda"]


def test_rendered_helper_is_one_standard_library_program(tmp_path):
    script = render_helper_script(_config(tmp_path)).decode()
    imported = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert "datakeeper" not in imported
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
    assert "class HfRepo" in script and "def open_root" in script
    assert f"'lock_dir': '{tmp_path}/data/config/datakeeper'" in script


def test_rendered_helper_works_with_no_datakeeper_installed(tmp_path):
    cfg = _config(tmp_path)
    _file(tmp_path / "data/cache/conda/pkgs/numpy.conda")
    script = tmp_path / "helper"
    script.write_bytes(render_helper_script(cfg))
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    argv = [python, "-I", "-S", str(script), "cache-clean", "conda", "--older-than", "7d"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "conda: removed 0 files" in result.stdout  # new: younger than 7 days


def test_sudoers_allow_each_shared_kind_alone_or_with_a_fixed_age(tmp_path):
    commands = sudoers_commands(_config(tmp_path))
    helper_path = "/usr/local/sbin/datakeeper-helper"
    assert f"{helper_path} cache-clean huggingface --older-than 90d" in commands
    assert not any("*" in command for command in commands)
    aged = [c for c in commands if "--older-than" in c]
    assert len(aged) == 3 * len(helper.OLDER_THAN)


@needs_root
def test_a_cache_root_that_is_a_symlink_is_refused_not_followed(marked, tmp_path):
    outside = tmp_path / "outside"
    _file(outside / "checkpoints/old.pth", when=OLD)
    hub = tmp_path / "data/models/torch/hub"
    hub.rmdir()
    hub.symlink_to(outside)
    plan = caches.plan_clean(marked, ["torch"], 30, home=tmp_path)
    assert "symlink" in plan.kinds[0].problem
    done = caches.clean(plan)
    assert done.kinds[0].status == "refused"
    assert "symlink" in done.kinds[0].message
    assert done.exit_code() == ExitCode.FAILURE
    assert (outside / "checkpoints/old.pth").exists()
