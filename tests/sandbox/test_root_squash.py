"""root_squash on a real mount (issue 17): /data seen through bindfs, as an NFS client
whose export squashes root sees it.

The server's /data is mounted again, inside its own mount namespace, through bindfs
from a bind of the real one: what root creates there belongs to nobody (65534), as on
an export with root_squash. Two mappings: ``--map`` also shows root's existing files as
nobody's; ``--create-for-user`` keeps them root's and gives only new files to nobody,
which is what NFS shows. Either way datakeeper must refuse in one line naming
root_squash and the fix, and leave the registry as it was.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.sandbox import DisposableServer
from tests.support.site_setup import GROUP, init_site, prepare_site

pytestmark = pytest.mark.sandbox

BACKING = "/mnt/squash-backing"  # the real /data, inside the server, under the view
STATE = "config/datakeeper"  # the state directory, relative to /data
MAPPINGS = {
    "map": ["--map=0/65534:@0/@65534"],
    "create-for": ["--create-for-user=65534", "--create-for-group=65534"],
}


def _fuse_missing() -> str | None:
    """Why bindfs cannot run here, or None."""
    if shutil.which("bindfs") is None:
        return "needs bindfs (apt-get install bindfs; scripts/install-test-deps has it)"
    if not Path("/dev/fuse").is_char_device():
        return "needs /dev/fuse (the fuse kernel module) for bindfs"
    return None


@contextmanager
def squashed_data(server: DisposableServer, mapping: str) -> Iterator[None]:
    """/data through bindfs with ``mapping`` until the block ends; both mounts are the
    server's own and are unmounted by their mount points."""
    reason = _fuse_missing()
    if reason:
        pytest.skip(reason)
    server.run(["mkdir", "-p", BACKING])
    server.run(["mount", "--bind", "/data", BACKING])
    try:
        _bindfs(server, [*MAPPINGS[mapping], BACKING, "/data"])
        try:
            yield
        finally:
            server.run(["umount", "/data"], check=False)
    finally:
        server.run(["umount", BACKING], check=False)


def _bindfs(server: DisposableServer, args: list[str]) -> None:
    """Mount over the non-empty /data: fuse 3 allows it, fuse 2 wants ``nonempty``."""
    first = server.run(["bindfs", *args], check=False, timeout=30)
    if first.returncode != 0:
        assert "nonempty" in first.stderr, first.stderr
        server.run(["bindfs", "-o", "nonempty", *args], timeout=30)


def _backing_files(server: DisposableServer) -> dict[str, str]:
    """Every regular file under the real /data: its path and content."""
    listing = server.run(["find", BACKING, "-type", "f", "-printf", "%P\\n"]).stdout.split()
    return {name: server.run(["cat", f"{BACKING}/{name}"]).stdout for name in sorted(listing)}


def _assert_squash_refusal(result) -> None:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == 3, result.stderr
    line = lines[0]
    assert line.startswith("datakeeper: error: root cannot write root-owned files in /data/")
    for words in ("(root_squash)", "no_root_squash to the admin hosts", "state_dir"):
        assert words in line, line


@pytest.mark.parametrize("mapping", sorted(MAPPINGS))
def test_init_on_a_squashed_data_refuses_in_one_line_and_writes_nothing(
    server: DisposableServer, mapping: str
) -> None:
    prepare_site(server)
    with squashed_data(server, mapping):
        before = _backing_files(server)
        result = init_site(server, check=False)
        _assert_squash_refusal(result)
        # No registry, lock, log or probe left behind: only the admin's config.
        assert _backing_files(server) == before
        assert list(before) == ["config/datakeeper.toml"]
    assert server.run(["getent", "group", GROUP], check=False).returncode == 2


@pytest.mark.parametrize("mapping", sorted(MAPPINGS))
def test_node_join_through_a_squashed_data_refuses_and_keeps_the_registry(
    server: DisposableServer, mapping: str
) -> None:
    prepare_site(server)
    init_site(server)
    with squashed_data(server, mapping):
        before = _backing_files(server)
        assert f"{STATE}/registry.json" in before
        result = server.datakeeper("node", "join", check=False)
        _assert_squash_refusal(result)
        assert _backing_files(server) == before
