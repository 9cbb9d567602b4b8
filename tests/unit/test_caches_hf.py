"""HuggingFace hub cleanup on a cache planted with the real layout, against
``huggingface_hub.scan_cache_dir``: the sudo helper's native code and the root
path (scan + ``delete_revisions``, executed safely) remove exactly the unused
revisions the scan reports, and nothing through a planted link.

The cache is planted by ``tests.support.hf_hub`` (the sandbox tests use it too).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest
from tests.support.hf_hub import DAY, OLD_DAYS, commit, expected_after, plant, snapshot, tree

from datakeeper.features.caches import hf as cache_hf
from datakeeper.helper import main as helper
from datakeeper.helper.walk import Cleaner

huggingface_hub = pytest.importorskip("huggingface_hub")

# -- the tests ----------------------------------------------------------------------


@pytest.fixture
def hub(tmp_path) -> Path:
    root = tmp_path / "hub"
    root.mkdir()
    plant(root)
    return root


def _policy(hub: Path) -> dict:
    return {"allow": ["cache-clean"], "caches": {"huggingface": str(hub)}, "min_age_days": 0}


def test_the_planted_cache_is_valid_for_huggingface_hub(hub):
    info = huggingface_hub.scan_cache_dir(hub)
    assert info.warnings == []
    assert {repo.repo_id for repo in info.repos} == {"org/bert", "org/gone", "org/data", "org/busy"}


@pytest.mark.parametrize("days", [30, 7])
def test_native_cleanup_removes_exactly_what_the_scan_reports(hub, days):
    expected = expected_after(hub, days, time.time())
    assert (
        helper.main(["cache-clean", "huggingface", "--older-than", f"{days}d"], _policy(hub)) == 0
    )
    assert tree(hub) == expected
    assert not (hub / "models--org--gone").exists()
    assert (hub / "models--org--busy" / "snapshots" / commit("busy")).exists()


def test_root_path_removes_exactly_what_the_scan_reports(hub):
    now = time.time()
    expected = expected_after(hub, 30, now)
    plan = cache_hf.plan(hub, now - 30 * DAY, now)
    assert {rev for _repo, rev, _size in plan.revisions} == {
        commit(n) for n in ("old", "alone", "nested", "empty")
    }
    cleaner = Cleaner(str(hub), now)
    cache_hf.execute(plan, cleaner)
    assert cleaner.failed == []
    assert tree(hub) == expected


def test_without_an_age_only_abandoned_downloads_go(hub):
    before = tree(hub)
    assert helper.main(["cache-clean", "huggingface"], _policy(hub)) == 0
    assert tree(hub) == before


def test_a_held_lock_keeps_the_repo(hub):
    lock = hub / ".locks" / "models--org--gone" / "y.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert helper.main(["cache-clean", "huggingface", "--older-than", "30d"], _policy(hub)) == 0
        assert (hub / "models--org--gone").exists()
        assert lock.exists()  # a held lock is never removed, old or not


def test_the_scan_of_the_native_code_reports_what_the_cleanup_removes_and_keeps_all(hub):
    before = tree(hub)
    survey = helper.scan_cache("huggingface", _policy(hub), older_than_days=30)
    assert tree(hub) == before
    removed = {os.path.relpath(path, hub) for path, _size in survey.removed}
    assert f"models--org--bert/snapshots/{commit('old')}/config.json" in removed
    assert any(why == "a download is in progress" for _where, why in survey.skipped)
    cleaner = helper.clean_cache("huggingface", _policy(hub), older_than_days=30)
    assert (cleaner.removed, cleaner.skipped) == (survey.removed, survey.skipped)


def test_links_out_of_the_cache_never_lead_root_outside(hub, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    old = time.time() - OLD_DAYS * DAY
    os.utime(victim, (old, old))
    evil = hub / "models--org--bert" / "snapshots" / commit("old") / "evil.bin"
    evil.symlink_to(victim)  # the scan takes the victim for a blob
    outside = tmp_path / "elsewhere"
    snapshot(outside, "models--x--y", commit("x"), {"f": "theirs"}, old)
    (hub / "models--x--y").symlink_to(outside / "models--x--y")
    theirs = tree(outside)
    now = time.time()
    plan = cache_hf.plan(hub, now - 30 * DAY, now)
    assert victim in {path for _kind, path in plan.paths}  # huggingface_hub would delete it
    cleaner = Cleaner(str(hub), now)
    cache_hf.execute(plan, cleaner)
    assert victim.read_text() == "precious"
    assert any(str(victim) in problem for problem in cleaner.failed)
    assert tree(outside) == theirs
    assert not (hub / "models--x--y").is_symlink()  # the planted link itself went


def test_native_code_leaves_a_repo_with_a_link_out_alone(hub, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    gone = hub / "models--org--gone"
    (gone / "snapshots" / commit("alone") / "evil").symlink_to(victim)
    (hub / "models--z--z").symlink_to(gone, target_is_directory=True)
    assert helper.main(["cache-clean", "huggingface", "--older-than", "30d"], _policy(hub)) == 0
    assert victim.read_text() == "precious"
    assert gone.exists()
    assert (hub / "models--z--z").is_symlink()


@pytest.mark.parametrize("age", ["1d", "30", "30days", "--older-than", "7d "])
def test_the_helper_takes_only_the_fixed_ages(hub, age, capsys):
    argv = ["cache-clean", "huggingface", "--older-than", age]
    assert helper.main(argv, _policy(hub)) == 2
    assert "--older-than 7d|30d|90d" in capsys.readouterr().err
