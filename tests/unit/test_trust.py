"""Trusted paths: root-owned, and no one else can write the file or any directory above it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datakeeper.trust import audit_trusted_directory, audit_trusted_file, untrusted_ancestors

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
    assert audit_trusted_directory(real.parent) == []


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
    assert _below(audit_trusted_directory(sbin), base) == [
        f"{sbin} is owned by uid 54321, not root; fix: chown root {sbin}"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="as root, everything made here is root's")
def test_files_of_an_ordinary_user_are_not_trusted(base):
    problems = audit_trusted_directory(base)
    assert any(p.startswith(f"{base} is owned by") and ", not root;" in p for p in problems)


def test_world_writable_tmp_is_never_trusted():
    tmp = Path("/tmp")
    if not tmp.is_dir() or os.stat(tmp).st_mode & 0o002 == 0:
        pytest.skip("/tmp is not world-writable here")
    problems = untrusted_ancestors(tmp / "x" / "helper")
    assert any(p.startswith("/tmp is writable by") for p in problems)
