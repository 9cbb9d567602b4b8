"""Issue 11, item 2 and item 9 (first point): a member against root's HF hub cleanup.

The attacks, as alice (a member, who can write the shared hub cache):

- ``models--e--f/refs/main`` made a FIFO: root's ``cache clean --hf`` (and
  ``--dry-run``, ``--all``) blocked forever, since ``huggingface_hub``'s
  ``scan_cache_dir`` opens every ref with a plain ``open()``;
- the same ref a symlink to ``/dev/zero``: root's scan read it into memory
  until it had gigabytes;
- alice's old revision linking bob's blob (``../../../models--bob--m/blobs/H``):
  ``delete_revisions`` listed bob's blob among alice's, and root deleted it;
- alice's blob a hard link to bob's: root reported bob's bytes as "freed" when
  it only removed alice's link.

Root now scans with the sudo helper's native code: refs are read only through
``read_capped`` (no link, no FIFO or device, at most 256 bytes), a repo that
fails a check is left alone and named with the reason, links out of a repo's
own blobs make it odd, and only a regular file with no other link counts as freed.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.sandbox import PROJECT_ROOT

HUB = "/data/models/huggingface/hub"
INSIDE = {"PYTHONPATH": str(PROJECT_ROOT)}
MEMORY_KB = 1_500_000  # root's cleanup runs under this address-space cap: no host harm
LIMIT_S = 90  # a scan of this tiny cache takes seconds; past this it hangs
BOB_BLOB_SIZE = 300_000
ODD_REF = f"{HUB}/models--e--f/refs/main"


@pytest.fixture
def site(site):
    """alice and bob are members; the hub cache holds the planted standard repos,
    bob's model (a ref keeps it) and alice's repo ``models--e--f``."""
    server = site
    for name in ("alice", "bob"):
        server.run(["useradd", "--create-home", "--groups", "gpu-users", name])
    code = f"from pathlib import Path; from tests.support.hf_hub import plant; plant(Path({HUB!r}))"
    server.run([sys.executable, "-c", code], user="alice", env=INSIDE)
    _repo(server, "bob", "models--bob--m", "bob", f"'b' * {BOB_BLOB_SIZE}", ref=True)
    _repo(server, "alice", "models--e--f", "ef", repr("alice's weights"), ref=False)
    return server


def _repo(server, user: str, repo: str, rev: str, content: str, *, ref: bool) -> None:
    """``user`` downloads ``repo`` at revision ``rev`` holding ``w.bin`` with the
    Python expression ``content`` (umask 002, as members have)."""
    code = (
        "import os, time; from pathlib import Path; "
        "from tests.support.hf_hub import DAY, commit, ref, snapshot; "
        f"hub, old = Path({HUB!r}), time.time() - 100 * DAY; os.umask(0o002); "
        f"snapshot(hub, {repo!r}, commit({rev!r}), {{'w.bin': {content}}}, old)"
        + (f"; ref(hub, {repo!r}, 'main', commit({rev!r}))" if ref else "")
    )
    server.run([sys.executable, "-c", code], user=user, env=INSIDE)


def _plant_ref(server, command: str) -> None:
    """alice makes her repo's ``refs/main`` with the shell ``command``."""
    server.run(["sh", "-c", f"mkdir -p {HUB}/models--e--f/refs && {command}"], user="alice")


def _commit(server, name: str) -> str:
    code = f"from tests.support.hf_hub import commit; print(commit({name!r}), end='')"
    return server.run([sys.executable, "-c", code], env=INSIDE).stdout


def _bobs_blob(server) -> str:
    listing = server.run(["ls", f"{HUB}/models--bob--m/blobs"]).stdout.split()
    return f"{HUB}/models--bob--m/blobs/{listing[0]}"


def _root_cleans(server, *args: str):
    """Root's ``datakeeper ARGS`` under a memory cap; a hang fails the test (TimeoutExpired)."""
    capped = f'ulimit -v {MEMORY_KB}; exec "$@"'
    argv = ["sh", "-c", capped, "sh", sys.executable, "-m", "datakeeper", *args]
    return server.run(argv, check=False, timeout=LIMIT_S)


def _hub_report(result) -> dict:
    caches = json.loads(result.stdout)["caches"]
    return next(c for c in caches if c["kind"] == "huggingface" and c["path"] == HUB)


LEFT_ALONE = f"left alone: {HUB}/models--e--f (not the standard layout: refs/main: {{why}})"


def test_member_fifo_ref_cannot_hang_root_hf_cleanup(site):
    _plant_ref(site, f"mkfifo {ODD_REF}")
    dry = _root_cleans(site, "cache", "clean", "--hf", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert LEFT_ALONE.format(why="a FIFO, not a regular file") in dry.stdout
    done = _root_cleans(site, "--json", "cache", "clean", "--hf", "--yes")
    report = _hub_report(done)
    assert (done.returncode, report["status"]) == (0, "done"), done.stdout + done.stderr
    assert LEFT_ALONE.format(why="a FIFO, not a regular file") in report["notes"]
    every = _root_cleans(site, "--json", "cache", "clean", "--all", "--yes")
    assert _hub_report(every)["status"] == "nothing", every.stdout + every.stderr
    assert site.run(["test", "-p", ODD_REF]).returncode == 0  # alice's repo left alone


def test_member_dev_zero_ref_cannot_exhaust_root_memory(site):
    _plant_ref(site, f"ln -s /dev/zero {ODD_REF}")
    dry = _root_cleans(site, "cache", "clean", "--hf", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert LEFT_ALONE.format(why="a symbolic link") in dry.stdout
    done = _root_cleans(site, "--json", "cache", "clean", "--all", "--yes")
    report = _hub_report(done)
    assert report["status"] == "done", done.stdout + done.stderr
    assert LEFT_ALONE.format(why="a symbolic link") in report["notes"]


def test_member_link_to_anothers_blob_cannot_make_root_delete_it(site):
    blob = _bobs_blob(site)
    old = f"{HUB}/models--e--f/snapshots/{_commit(site, 'old')}"
    name = blob.rsplit("/", 1)[1]
    attack = (  # her ref keeps revision ef, so the old one goes alone, blob by blob
        f"mkdir -p {HUB}/models--e--f/refs {old} && "
        f"printf %s {_commit(site, 'ef')} > {HUB}/models--e--f/refs/main && "
        f"ln -s ../../../models--bob--m/blobs/{name} {old}/w.bin && "
        f"touch -h -d '100 days ago' {old}/w.bin {old}"
    )
    site.run(["sh", "-c", attack], user="alice")
    site.run(["touch", "-d", "100 days ago", blob])
    done = _root_cleans(site, "--json", "cache", "clean", "--hf", "--yes")
    report = _hub_report(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert site.run(["stat", "-c", "%s", blob]).stdout.strip() == str(BOB_BLOB_SIZE)
    assert report["freed_bytes"] < BOB_BLOB_SIZE
    assert any(
        note.startswith(f"left alone: {HUB}/models--e--f (not the standard layout: snapshots/")
        and note.endswith("w.bin: links outside the repo's blobs)")
        for note in report["notes"]
    ), report["notes"]


def test_member_hardlink_to_anothers_blob_is_not_reported_as_freed(site):
    blob = _bobs_blob(site)
    [alices] = site.run(["ls", f"{HUB}/models--e--f/blobs"]).stdout.split()
    alices = f"{HUB}/models--e--f/blobs/{alices}"
    site.run(["sh", "-c", f"rm {alices} && ln {blob} {alices}"], user="alice")
    site.run(["touch", "-d", "100 days ago", blob])
    dry = _root_cleans(site, "--json", "--dry-run", "cache", "clean", "--hf")
    assert _hub_report(dry)["planned_bytes"] < BOB_BLOB_SIZE, dry.stdout
    done = _root_cleans(site, "--json", "cache", "clean", "--hf", "--yes")
    report = _hub_report(done)
    assert report["status"] == "done", done.stdout + done.stderr
    assert site.run(["test", "-e", f"{HUB}/models--e--f"], check=False).returncode == 1
    assert site.run(["stat", "-c", "%s %h", blob]).stdout.split() == [str(BOB_BLOB_SIZE), "1"]
    assert report["freed_bytes"] < BOB_BLOB_SIZE  # only alice's link went: nothing released
