"""Trusted paths: root-owned, and no one else can write the file or any directory above it."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from datakeeper.trust import (
    audit_trusted_file,
    guarded_command,
    untrusted_ancestors,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
SYSTEM_FILE = Path("/usr/bin/env")


@pytest.fixture
def base(tmp_path) -> Path:
    """A root-owned 0755 directory; only problems below it count in these tests."""
    root = tmp_path / "base"
    root.mkdir()
    root.chmod(0o755)
    return root


def _below(problems: list[str], base: Path) -> list[str]:
    """The problems about ``base`` and below, less "not root" ones when we cannot be root."""
    mine = [p for p in problems if p.startswith(str(base))]
    return mine if os.geteuid() == 0 else [p for p in mine if ", not root;" not in p]


def _dir(path: Path, mode: int) -> Path:
    path.mkdir()
    path.chmod(mode)
    return path


@pytest.mark.skipif(not SYSTEM_FILE.is_file(), reason="needs /usr/bin/env")
def test_a_system_program_is_trusted():
    real = Path(os.path.realpath(SYSTEM_FILE))
    assert audit_trusted_file(real) == []
    assert untrusted_ancestors(real) == []


@pytest.mark.parametrize(
    ("mode", "who"),
    [(0o775, "its group"), (0o757, "others"), (0o777, "its group and by others")],
)
def test_a_writable_directory_is_not_trusted(base, mode, who):
    sbin = _dir(base / "sbin", mode)
    problems = _below(untrusted_ancestors(sbin / "helper"), base)
    assert problems == [f"{sbin} is writable by {who} (mode {mode:04o}); fix: chmod go-w {sbin}"]


def test_sticky_does_not_make_a_directory_trusted(base):
    shared = _dir(base / "shared", 0o3775)
    assert _below(untrusted_ancestors(shared / "helper"), base) == [
        f"{shared} is writable by its group (mode 3775); fix: chmod go-w {shared}"
    ]


def test_every_ancestor_is_checked_not_only_the_parent(base):
    middle = _dir(base / "middle", 0o777)
    inner = _dir(middle / "inner", 0o755)
    problems = _below(untrusted_ancestors(inner / "helper"), base)
    assert [p.split(" is ")[0] for p in problems] == [str(middle)]


def test_missing_directory_is_reported(base):
    problems = _below(untrusted_ancestors(base / "nope/helper"), base)
    assert problems == [
        f"{base}/nope does not exist; create it owned by root with mode 0755",
    ]


def test_the_target_of_a_symlinked_ancestor_is_checked(base):
    real = _dir(base / "real", 0o777)
    (base / "link").symlink_to(real)
    problems = _below(untrusted_ancestors(base / "link/helper"), base)
    assert any(p.startswith(f"{real} is writable") for p in problems)


def test_a_file_must_be_regular_and_not_writable(base):
    good = base / "tool"
    good.write_text("x")
    good.chmod(0o755)
    writable = base / "writable"
    writable.write_text("x")
    writable.chmod(0o775)
    link = base / "link"
    link.symlink_to(good)
    assert _below(audit_trusted_file(writable), base) == [
        f"{writable} is writable by its group (mode 0775); fix: chmod go-w {writable}"
    ]
    assert _below(audit_trusted_file(link), base) == [
        f"{link} is a symlink; a trusted file must be a regular file (replace the link)"
    ]
    assert _below(audit_trusted_file(base), base) == [f"{base} is not a regular file"]
    assert _below(audit_trusted_file(base / "absent"), base) == [f"{base}/absent does not exist"]


@needs_root
def test_a_file_or_directory_not_owned_by_root_is_not_trusted(base):
    good = base / "tool"
    good.write_text("x")
    good.chmod(0o755)
    assert _below(audit_trusted_file(good), base) == []
    os.chown(good, 54321, 0)
    sbin = _dir(base / "sbin", 0o755)
    os.chown(sbin, 54321, 0)
    assert _below(audit_trusted_file(good), base) == [
        f"{good} is owned by uid 54321, not root; fix: chown root {good}"
    ]
    assert _below(untrusted_ancestors(sbin / "tool"), base) == [
        f"{sbin} is owned by uid 54321, not root; fix: chown root {sbin}"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="as root, everything made here is root's")
def test_files_of_an_ordinary_user_are_not_trusted(base):
    problems = untrusted_ancestors(base / "tool")
    assert any(p.startswith(f"{base} is owned by") and ", not root;" in p for p in problems)


def test_world_writable_tmp_is_never_trusted():
    tmp = Path("/tmp")
    if not tmp.is_dir() or os.stat(tmp).st_mode & 0o002 == 0:
        pytest.skip("/tmp is not world-writable here")
    # a name nobody made: a root-owned /tmp/x of someone else's (sticky /tmp keeps it
    # theirs) once made this test pass judgement on that folder instead of on /tmp
    problems = untrusted_ancestors(tmp / f"no-such-{uuid.uuid4().hex}" / "helper")
    assert any(p.startswith("/tmp is writable by") for p in problems)


@needs_root
def test_a_root_owned_sticky_directory_counts_only_over_a_root_owned_entry(base):
    storage = _dir(base / "data", 0o3775)  # how init makes /data: root:<group> 3775
    apps = _dir(storage / "apps", 0o755)
    assert _below(untrusted_ancestors(apps / "tool"), base) == []
    os.chown(apps, 54321, 0)  # the old layout let the admin own (and swap) what is below
    problems = _below(untrusted_ancestors(apps / "tool"), base)
    assert problems == [
        f"{storage} is writable by its group (mode 3775); fix: chmod go-w {storage}",
        f"{apps} is owned by uid 54321, not root; fix: chown root {apps}",
    ]
    os.chown(storage, 54321, 0)
    os.chown(apps, 0, 0)
    assert _below(untrusted_ancestors(apps / "tool"), base) == [
        f"{storage} is owned by uid 54321, not root; fix: chown root {storage}",
        f"{storage} is writable by its group (mode 3775); fix: chmod go-w {storage}",
    ]


def _tool(folder: Path, marker: Path) -> Path:
    """A program that leaves ``marker`` with its arguments when it runs."""
    tool = folder / "tool"
    tool.write_text(f'#!/bin/sh\necho "$@" > {marker}\n')
    tool.chmod(0o755)
    return tool


@needs_root
def test_the_boot_guard_runs_a_program_that_is_root_s_all_the_way_up(base):
    bin_dir = _dir(_dir(base / "data", 0o3775) / "bin", 0o755)
    tool = _tool(bin_dir, base / "ran")
    result = subprocess.run(guarded_command(tool, ["recover", "--boot"]), capture_output=True)
    assert (result.returncode, result.stderr) == (0, b"")
    assert (base / "ran").read_text() == "recover --boot\n"


@pytest.mark.parametrize("owner", [0, 54321])
def test_the_boot_guard_refuses_a_program_others_can_change_with_one_line(base, owner):
    if owner and os.geteuid() != 0:
        pytest.skip("changing owners needs root")
    storage = _dir(base / "data", 0o775 if owner == 0 else 0o3775)
    bin_dir = _dir(storage / "bin", 0o755)
    os.chown(storage, owner, -1)  # writable by the group, or owned by the admin
    tool = _tool(bin_dir, base / "ran")
    result = subprocess.run(guarded_command(tool, ["recover"]), capture_output=True, text=True)
    assert result.returncode == 3
    [line] = result.stderr.splitlines()
    assert line.startswith(f"datakeeper: refused to run {tool}: ")
    assert "nothing was run" in line and not (base / "ran").exists()


def test_the_boot_guard_refuses_a_missing_program_or_a_folder(base):
    for path in (base / "absent" / "tool", base):
        result = subprocess.run(guarded_command(path), capture_output=True, text=True)
        assert result.returncode == 3
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
