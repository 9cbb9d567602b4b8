"""HuggingFace hub cleanup on a cache planted with the real layout, against
``huggingface_hub.scan_cache_dir``: the native scan (the sudo helper's, which root
runs in-process too) removes exactly the unused revisions ``huggingface_hub``'s
scan reports, nothing through a planted link, and is neither hung nor blown up
by a member's FIFO or link to ``/dev/zero`` as a ref; it counts as freed only
what it released.

The cache is planted by ``tests.support.hf_hub`` (the sandbox tests use it too).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest
from tests.support.hf_hub import DAY, OLD_DAYS, commit, expected_after, plant, snapshot, tree

from datakeeper.config import parse_config
from datakeeper.features.caches.methods import MAX_NOTES, HubClean
from datakeeper.helper import main as helper
from datakeeper.resources.cache_cleanup import CacheScan

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


def _root_method(tmp_path: Path, days: int = 30) -> tuple[HubClean, Path]:
    """Root's method for the site's hub cache (``<tmp>/data/models/huggingface/hub``)."""
    text = f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n'
    hub = tmp_path / "data" / "models" / "huggingface" / "hub"
    hub.mkdir(parents=True)
    return HubClean(parse_config(text, "test"), "huggingface", days), hub


def test_root_removes_exactly_what_the_scan_reports_and_frees_what_it_says(tmp_path):
    method, hub = _root_method(tmp_path)
    plant(hub)
    expected = expected_after(hub, 30, time.time())
    scan = method.scan()
    cleaned = method.clean()
    assert tree(hub) == expected
    assert (cleaned.removed, cleaned.freed, cleaned.failures) == (scan.files, scan.size, ())
    assert any("a download is in progress" in note for note in scan.notes)


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


def test_links_out_of_the_cache_never_lead_root_outside(tmp_path):
    method, hub = _root_method(tmp_path)
    plant(hub)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    old = time.time() - OLD_DAYS * DAY
    os.utime(victim, (old, old))
    evil = hub / "models--org--bert" / "snapshots" / commit("old") / "evil.bin"
    evil.symlink_to(victim)  # huggingface_hub's scan takes the victim for a blob
    outside = tmp_path / "elsewhere"
    snapshot(outside, "models--x--y", commit("x"), {"f": "theirs"}, old)
    (hub / "models--x--y").symlink_to(outside / "models--x--y")
    theirs, bert = tree(outside), tree(hub / "models--org--bert")
    scan = method.scan()
    assert method.clean().failures == ()
    assert victim.read_text() == "precious"
    assert tree(outside) == theirs
    assert tree(hub / "models--org--bert") == bert  # left alone whole, with why
    assert f"left alone: {hub}/models--org--bert (not the standard layout: snapshots/" in (
        "\n".join(scan.notes)
    )
    assert any("evil.bin: links outside the repo's blobs" in note for note in scan.notes)


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


def _scan_in_time(method: HubClean, seconds: float = 20) -> CacheScan:
    """The method's scan, failing (not hanging the suite) if it does not end in time."""
    found: list[CacheScan] = []
    worker = threading.Thread(target=lambda: found.append(method.scan()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert found, f"the scan did not end within {seconds} s"
    return found[0]


@pytest.mark.parametrize(
    ("plant_ref", "why"),
    [
        (lambda path: os.mkfifo(path), "refs/main: a FIFO, not a regular file"),
        (lambda path: path.symlink_to("/dev/zero"), "refs/main: a symbolic link"),
        (lambda path: path.write_bytes(b"0" * 65536), "refs/main: larger than 256 bytes"),
    ],
    ids=["fifo", "dev-zero-link", "huge"],
)
def test_a_members_odd_ref_is_left_alone_with_why_and_never_read(tmp_path, plant_ref, why):
    method, hub = _root_method(tmp_path)
    plant(hub)
    old = time.time() - OLD_DAYS * DAY
    snapshot(hub, "models--e--f", commit("ef"), {"w.bin": "weights"}, old)
    (hub / "models--e--f" / "refs").mkdir()
    plant_ref(hub / "models--e--f" / "refs" / "main")
    scan = _scan_in_time(method)
    assert f"left alone: {hub}/models--e--f (not the standard layout: {why})" in scan.notes
    assert scan.files > 0  # the other repos are still cleaned
    method.clean()
    assert (hub / "models--e--f" / "snapshots" / commit("ef") / "w.bin").exists()


def test_a_blob_with_other_links_is_not_counted_as_freed(tmp_path):
    method, hub = _root_method(tmp_path)
    old = time.time() - OLD_DAYS * DAY
    theirs = tmp_path / "data" / "bobs-weights.bin"
    theirs.write_bytes(b"w" * 100_000)
    snapshot(hub, "models--a--b", commit("ab"), {"w.bin": "x"}, old)
    [blob] = (hub / "models--a--b" / "blobs").iterdir()
    blob.unlink()
    os.link(theirs, blob)  # the repo's blob is a hard link to someone else's file
    os.utime(blob, (old, old))
    scan = method.scan()
    cleaned = method.clean()
    assert not (hub / "models--a--b").exists()
    assert theirs.read_bytes() == b"w" * 100_000
    assert (scan.size, cleaned.freed) == (0, 0)  # only a link went: nothing was released


def test_many_odd_repos_are_named_up_to_a_bound_and_the_rest_counted(tmp_path):
    method, hub = _root_method(tmp_path)
    old = time.time() - OLD_DAYS * DAY
    for index in range(MAX_NOTES + 3):
        repo = f"models--odd--r{index:02d}"
        snapshot(hub, repo, commit(repo), {"w.bin": repo}, old)
        (hub / repo / "refs").mkdir()
        os.mkfifo(hub / repo / "refs" / "main")
    notes = _scan_in_time(method).notes
    named = [note for note in notes if note.startswith("left alone: ")]
    assert len(named) == MAX_NOTES
    assert named[0] == (
        f"left alone: {hub}/models--odd--r00 "
        "(not the standard layout: refs/main: a FIFO, not a regular file)"
    )
    assert "and 3 more left alone" in notes


def test_a_snapshot_deeper_than_the_walk_goes_is_left_alone_not_a_traceback(tmp_path):
    method, hub = _root_method(tmp_path)
    old = time.time() - OLD_DAYS * DAY
    deep = Path("/".join(["d"] * 200)) / "w.bin"
    snapshot(hub, "models--deep--x", commit("deep"), {str(deep): "w"}, old)
    scan = _scan_in_time(method)
    assert any("models--deep--x (not the standard layout: " in n for n in scan.notes)
    assert any("deeper than 32 levels" in note for note in scan.notes)
    assert scan.files == 0
