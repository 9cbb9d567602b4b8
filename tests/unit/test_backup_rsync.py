"""The rsync command line, its statistics and its exit codes in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from datakeeper.errors import CommandError
from datakeeper.system import rsync

STATS = """
Number of files: 1,234 (reg: 1,000, dir: 230, link: 4)
Number of created files: 12 (reg: 10, dir: 2)
Total file size: 9,876,543 bytes
Total transferred file size: 1,048,576 bytes
"""


def test_a_snapshot_links_against_the_previous_one_gently():
    argv = rsync.snapshot_argv(
        ["/data/./users"], Path("/b/new/data"), Path("/b/old/data"), rsync.Niceness(10, True, 0)
    )
    assert argv[:5] == ["ionice", "-c3", "nice", "-n", "10"]
    assert argv[5:9] == ["rsync", "-aHAX", "--numeric-ids", "--relative"]
    assert "--delete" not in argv  # a fresh folder: nothing to drop
    assert "--link-dest=/b/old/data" in argv
    assert argv[-3:] == ["--", "/data/./users", "/b/new/data/"]


def test_a_resumed_snapshot_drops_what_the_sources_no_longer_hold():
    argv = rsync.snapshot_argv(
        ["/data/./users"], Path("/b/n"), None, rsync.Niceness(0, False), flags=rsync.RESUME_FLAGS
    )
    assert argv[:5] == ["rsync", "-aHAX", "--numeric-ids", "--relative", "--delete"]


def test_without_niceness_or_previous_snapshot():
    argv = rsync.snapshot_argv(["/data/./users"], Path("/b/n"), None, rsync.Niceness(0, False, 500))
    assert argv[0] == "rsync"
    assert "--bwlimit=500" in argv
    assert not [arg for arg in argv if arg.startswith("--link-dest")]


def test_stats_give_the_new_bytes_and_directories():
    assert rsync.parse_stats(STATS) == rsync.Estimate(1_048_576, 230, 1234)
    with pytest.raises(CommandError, match="no transferred size"):
        rsync.parse_stats("rsync: something else\n")


def test_exit_codes_are_named():
    with pytest.raises(CommandError, match=r"rsync failed: error in file I/O \(is the backup"):
        rsync._raise_for(["rsync"], 11, ["rsync: write failed: No space left on device (28)"])
    with pytest.raises(CommandError, match="killed by signal 9"):
        rsync._raise_for(["rsync"], -9, [])
    rsync._raise_for(["rsync"], 0, [])


def test_vanished_files_are_not_a_failure(tmp_path):
    script = tmp_path / "fake-rsync"
    script.write_text("#!/bin/sh\necho 'file has vanished: x' >&2\nexit 24\n")
    script.chmod(0o755)
    assert rsync.copy([str(script)]) is False
    script.write_text("#!/bin/sh\necho 'rsync: mkdir failed' >&2\nexit 23\n")
    with pytest.raises(CommandError, match=r"some files could not be copied.*mkdir failed"):
        rsync.copy([str(script)])


def test_a_missing_program_says_what_to_install(tmp_path):
    with pytest.raises(CommandError, match="program not found; install it"):
        rsync.copy([str(tmp_path / "no-such-rsync")])
