"""The sudo policy in a real server: a member runs exactly what it allows, as root."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from tests.support.sandbox import PROJECT_ROOT

pytestmark = pytest.mark.sandbox

HELPER = "/usr/local/sbin/datakeeper-helper"
DROPIN = "/etc/sudoers.d/datakeeper"
PKGS = "/data/cache/conda/pkgs"


def _sudo_policy(server, mode: str, config: str = "", check: bool = True) -> dict:
    argv = [sys.executable, "-m", "tests.support.sudo_driver", mode, config]
    result = server.run(argv, env={"PYTHONPATH": str(PROJECT_ROOT)}, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{mode} failed: {result.stdout}{result.stderr}")
    outcome = json.loads(result.stdout) if result.stdout.strip() else {}
    outcome["returncode"] = result.returncode
    return outcome


@pytest.fixture
def site(server):
    """The server with the group, members alice and bob (not a member), and the policy."""
    server.run(["groupadd", "gpu-users"])
    server.run(["useradd", "--create-home", "--groups", "gpu-users", "alice"])
    server.run(["useradd", "--create-home", "bob"])
    server.run(["mkdir", "-p", PKGS])
    assert _sudo_policy(server, "apply")["applied"]
    return server


def _sudo(server, *argv: str, user: str = "alice"):
    return server.run(["sudo", "-n", *argv], user=user, check=False)


def test_member_cleans_the_shared_conda_cache_as_root(site):
    site.run(["sh", "-c", f"echo data > {PKGS}/numpy-1.26.tar.bz2"])
    site.run(["mkdir", f"{PKGS}/numpy-1.26"])
    site.run(["touch", f"{PKGS}/scipy.conda.partial"])
    result = _sudo(site, HELPER, "cache-clean", "conda")
    assert result.returncode == 0, result.stderr
    assert f"removed {PKGS}/numpy-1.26.tar.bz2" in result.stdout
    assert site.run(["ls", PKGS]).stdout.split() == ["numpy-1.26", "scipy.conda.partial"]


def test_member_is_answered_in_their_language(site):
    site.run(["sh", "-c", f"echo data > {PKGS}/numpy-1.26.tar.bz2"])
    argv = ["sudo", "-n", HELPER, "cache-clean", "conda"]
    result = site.run(argv, user="alice", env={"LANG": "ko_KR.UTF-8"}, check=False)
    assert result.returncode == 0, result.stderr
    assert f"삭제: {PKGS}/numpy-1.26.tar.bz2\n" in result.stdout
    assert "conda: 파일 1개 삭제, 5바이트 확보 (5 B)" in result.stdout


def test_member_sees_disk_usage(site):
    result = _sudo(site, HELPER, "disk-usage")
    assert result.returncode == 0, result.stderr
    assert "/data" in result.stdout and "/backup" in result.stdout
    assert _sudo(site, "/usr/bin/df", "-h").returncode == 0
    assert _sudo(site, "/usr/bin/df").returncode == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["id"],
        [HELPER, "cache-clean", "/etc"],
        [HELPER, "cache-clean", "conda", "extra"],
        [HELPER, "cache-clean", "pip"],
        [HELPER, "disk-usage", "/etc"],
        [HELPER],
        ["/usr/bin/df", "/etc/shadow", "--output=source"],
        ["/usr/bin/df", "-h", "/etc"],
        ["/usr/bin/python3", HELPER, "disk-usage"],
    ],
)
def test_anything_else_is_refused_by_sudo(site, argv):
    result = _sudo(site, *argv)
    assert result.returncode == 1
    assert "a password is required" in result.stderr


def test_non_members_get_nothing(site):
    result = _sudo(site, HELPER, "disk-usage", user="bob")
    assert result.returncode == 1
    assert "a password is required" in result.stderr


def test_a_planted_symlink_does_not_make_root_delete_outside(site):
    site.run(["sh", "-c", "echo keep > /etc/precious"])
    site.run(["ln", "-s", "/etc/precious", f"{PKGS}/evil.tar.bz2"])
    assert _sudo(site, HELPER, "cache-clean", "conda").returncode == 0
    assert site.run(["cat", "/etc/precious"]).stdout == "keep\n"


def test_helper_is_root_owned_and_a_second_run_plans_nothing(site):
    info = os.lstat(site.path(HELPER))
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o755, 0, 0)
    assert site.path(HELPER).read_bytes().startswith(b"#!/usr/bin/python3 -I\n")
    dropin = os.lstat(site.path(DROPIN))
    assert (stat.S_IMODE(dropin.st_mode), dropin.st_uid, dropin.st_gid) == (0o440, 0, 0)
    assert _sudo_policy(site, "plan")["planned"] == []
    assert site.run(["visudo", "--check"]).returncode == 0


def test_a_writable_helper_directory_is_a_conflict_and_nothing_is_installed(server):
    server.run(["chmod", "g+w", "/usr/local/sbin"])
    before = server.snapshot()
    for mode in ("plan", "apply"):
        result = _sudo_policy(server, mode, check=False)
        assert (result["returncode"], result["type"]) == (3, "ConflictError")
        assert "/usr/local/sbin is writable by its group" in result["error"]
    assert not server.path(HELPER).exists()
    assert not server.path(DROPIN).exists()
    after = server.snapshot()
    changed = {key for key in {*before, *after} if before.get(key) != after.get(key)}
    assert all(key.startswith("/data:config") for key in changed), changed


def test_disabled_sudo_installs_nothing(server):
    result = _sudo_policy(server, "apply", "[sudo]\nenabled = false\n")
    assert result["planned"] == []
    assert not server.path(HELPER).exists()
