"""Every resource type, planned, applied and re-planned with the real system tools."""

from __future__ import annotations

import os
import stat

import pytest

pytestmark = pytest.mark.sandbox

GROUP = {"type": "group", "name": "gpu-users", "gid": 2345}


def _converges(server, specs):
    """Apply once (something changes), then the plan must be empty."""
    first = server.converge("apply", specs)
    assert first["applied"], "the first apply should change something"
    assert server.converge("plan", specs)["planned"] == []
    return first


# -- groups and accounts -------------------------------------------------------


def test_group_is_created_with_its_gid_and_then_left_alone(server):
    _converges(server, [GROUP])
    assert "gpu-users:x:2345:" in server.path("/etc/group").read_text()


def test_group_whose_gid_is_taken_is_a_conflict_and_nothing_changes(server):
    server.run(["groupadd", "--gid", "2345", "squatter"])
    result = server.converge("apply", [GROUP], check=False)
    assert result["returncode"] == 3
    assert result["error"] == (
        "cannot create group gpu-users with gid 2345: group squatter already has it"
    )
    assert "gpu-users" not in server.path("/etc/group").read_text()


def test_existing_group_with_another_gid_is_reported_not_changed(server):
    server.run(["groupadd", "--gid", "3000", "gpu-users"])
    result = server.converge("plan", [GROUP], check=False)
    assert result["type"] == "ConflictError"
    assert "has gid 3000, expected 2345" in result["error"]


def test_membership_adds_without_removing_other_groups(server):
    server.run(["groupadd", "lab"])
    server.run(["useradd", "--no-create-home", "--groups", "lab", "alice"])
    _converges(server, [GROUP, {"type": "membership", "user": "alice", "group": "gpu-users"}])
    groups = server.run(["id", "-Gn", "alice"]).stdout.split()
    assert {"lab", "gpu-users"} <= set(groups)


ALICE = {
    "type": "account",
    "name": "alice",
    "uid": 4242,
    "group": "gpu-users",
    "groups": ["audio"],
    "shell": "/bin/bash",
    "gecos": "Alice Kim",
    "home": "/home/alice",
    "password_hash": "$6$salt$abcdefghijklmnopqrstuvwxyz0123456789",
}


def test_account_gets_exact_ids_groups_shell_and_password(server):
    _converges(server, [GROUP, ALICE])
    passwd = server.run(["getent", "passwd", "alice"]).stdout.strip()
    assert passwd == "alice:x:4242:2345:Alice Kim:/home/alice:/bin/bash"
    assert server.run(["id", "-Gn", "alice"]).stdout.split() == ["gpu-users", "audio"]
    shadow = server.run(["getent", "shadow", "alice"]).stdout.split(":")
    assert shadow[1] == ALICE["password_hash"]


def test_account_plan_never_shows_the_password_hash(server):
    result = server.converge("dry-run", [GROUP, ALICE])
    assert ALICE["password_hash"] not in str(result)
    server.converge("apply", [GROUP, ALICE])
    changed = {**ALICE, "password_hash": "$6$other$zyxw"}
    plan = server.converge("plan", [GROUP, changed])
    assert [c["change"] for c in plan["planned"]] == ["set the recorded password of alice"]
    assert "$6$other" not in str(plan)


def test_account_drift_in_shell_and_groups_is_repaired(server):
    server.converge("apply", [GROUP, ALICE])
    server.run(["usermod", "--shell", "/bin/sh", "--groups", "video", "alice"])
    plan = server.converge("plan", [GROUP, ALICE])["planned"]
    assert len(plan) == 1
    assert plan[0]["before"] == {"groups": ["video"], "shell": "/bin/sh"}
    server.converge("apply", [GROUP, ALICE])
    assert server.converge("plan", [GROUP, ALICE])["planned"] == []


def test_account_with_another_uid_is_a_conflict(server):
    server.converge("apply", [GROUP])
    server.run(["useradd", "--no-create-home", "--uid", "5000", "--gid", "gpu-users", "alice"])
    result = server.converge("apply", [GROUP, ALICE], check=False)
    assert result["returncode"] == 3
    assert result["error"].startswith("account alice has uid 5000, expected 4242")


def test_uid_held_by_another_account_is_a_conflict(server):
    server.run(["useradd", "--no-create-home", "--uid", "4242", "bob"])
    result = server.converge("apply", [GROUP, ALICE], check=False)
    assert "account bob already has it" in result["error"]
    assert "alice" not in server.path("/etc/passwd").read_text()


# -- directories and symlinks ----------------------------------------------------


def _mode(server, path):
    return stat.S_IMODE(os.lstat(server.path(path)).st_mode)


def test_directory_gets_owner_group_setgid_and_sticky(server):
    shared = {
        "type": "directory",
        "path": "/data/models",
        "owner": "root",
        "group": "gpu-users",
        "mode": "3775",
    }
    _converges(server, [GROUP, shared])
    info = os.lstat(server.path("/data/models"))
    assert stat.S_IMODE(info.st_mode) == 0o3775
    assert info.st_gid == 2345


def test_directory_mode_drift_is_fixed(server):
    spec = {"type": "directory", "path": "/data/apps", "mode": "2755"}
    server.converge("apply", [spec])
    server.run(["chmod", "00777", "/data/apps"])  # GNU keeps setgid on 0777
    plan = server.converge("plan", [spec])["planned"]
    assert plan[0]["change"] == "fix /data/apps: mode 0777 -> 2755"
    server.converge("apply", [spec])
    assert _mode(server, "/data/apps") == 0o2755


def test_directory_refuses_a_planted_symlink(server):
    server.run(["ln", "-s", "/etc", "/data/apps"])
    result = server.converge(
        "apply", [{"type": "directory", "path": "/data/apps", "mode": "2777"}], check=False
    )
    assert result["type"] == "ConflictError"
    assert _mode(server, "/etc") == 0o755


def test_symlink_is_created_and_retargeted_atomically(server):
    server.run(["mkdir", "-p", "/data/users/alice", "/data/users/alice2"])
    link = {"type": "symlink", "path": "/home/alice", "target": "/data/users/alice"}
    _converges(server, [link])
    assert os.readlink(server.path("/home/alice")) == "/data/users/alice"
    _converges(server, [{**link, "target": "/data/users/alice2"}])
    assert os.readlink(server.path("/home/alice")) == "/data/users/alice2"


def test_symlink_never_replaces_a_real_directory(server):
    server.run(["sh", "-c", "mkdir /home/alice && echo work > /home/alice/thesis.tex"])
    link = {"type": "symlink", "path": "/home/alice", "target": "/data/users/alice"}
    result = server.converge("apply", [link], check=False)
    assert result["type"] == "ConflictError"
    assert server.run(["cat", "/home/alice/thesis.tex"]).stdout == "work\n"


# -- files and sudoers -----------------------------------------------------------

PROFILE = {
    "type": "file",
    "path": "/etc/profile.d/global_envs.sh",
    "mode": "0644",
    "content": "export HF_HOME=/data/models/huggingface\n",
}


def test_file_written_atomically_with_owner_and_mode(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    _converges(server, [PROFILE])
    assert server.path(PROFILE["path"]).read_text() == PROFILE["content"]
    assert _mode(server, PROFILE["path"]) == 0o644
    leftovers = [n for n in os.listdir(server.path("/etc/profile.d")) if n.endswith(".tmp")]
    assert leftovers == []


def test_file_datakeeper_wrote_is_updated(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    server.converge("apply", [PROFILE])
    newer = {**PROFILE, "content": "export HF_HOME=/data/hf\n"}
    plan = server.converge("plan", [newer])["planned"]
    assert plan[0]["change"] == f"update {PROFILE['path']} (content differs)"
    _converges(server, [newer])


def test_file_someone_else_wrote_is_not_overwritten(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    server.run(["sh", "-c", f"echo 'export MINE=1' > {PROFILE['path']}"])
    result = server.converge("apply", [PROFILE], check=False)
    assert result["returncode"] == 3
    assert "was not written by datakeeper" in result["error"]
    assert server.path(PROFILE["path"]).read_text() == "export MINE=1\n"


def test_file_replaced_only_when_told_keeps_the_old_one_aside(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    server.run(["sh", "-c", f"echo 'export MINE=1' > {PROFILE['path']}"])
    _converges(server, [{**PROFILE, "replace_unmanaged": True}])
    names = os.listdir(server.path("/etc/profile.d"))
    aside = [n for n in names if n.startswith("global_envs.sh.datakeeper-old-")]
    assert len(aside) == 1
    assert server.path(f"/etc/profile.d/{aside[0]}").read_text() == "export MINE=1\n"


def test_secret_file_content_never_appears_in_the_plan(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    secret = {
        "type": "file",
        "path": "/root/token",
        "mode": "0600",
        "content": "hunter2-very-secret",
        "secret": True,
    }
    result = server.converge("dry-run", [secret])
    assert "hunter2" not in str(result)


SUDOERS = {
    "type": "sudoers",
    "path": "/etc/sudoers.d/datakeeper",
    "content": '%gpu-users ALL=(root) NOPASSWD: /usr/bin/df ""\n',
}


def test_sudoers_drop_in_installed_root_only_and_effective(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    server.run(["useradd", "--create-home", "alice"])
    _converges(
        server, [GROUP, {"type": "membership", "user": "alice", "group": "gpu-users"}, SUDOERS]
    )
    info = os.lstat(server.path(SUDOERS["path"]))
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o440, 0, 0)
    allowed = server.run(["sudo", "-n", "-l"], user="alice").stdout
    assert '/usr/bin/df ""' in allowed
    assert server.run(["sudo", "-n", "/usr/bin/df"], user="alice").returncode == 0
    denied = server.run(["sudo", "-n", "/usr/bin/df", "/etc"], user="alice", check=False)
    assert denied.returncode != 0


def test_invalid_sudoers_is_refused_and_sudo_still_works(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    broken = {**SUDOERS, "content": "%gpu-users ALL=(root NOPASSWD /usr/bin/df\n"}
    result = server.converge("apply", [broken], check=False)
    assert result["returncode"] == 2
    assert "rejected by visudo, nothing installed" in result["error"]
    assert sorted(os.listdir(server.path("/etc/sudoers.d"))) == ["README"]
    assert server.run(["sudo", "-n", "-l"]).returncode == 0
    assert server.run(["visudo", "--check"]).returncode == 0


def test_sudoers_name_with_a_dot_is_refused(server):
    dotted = {**SUDOERS, "path": "/etc/sudoers.d/datakeeper.conf"}
    result = server.converge("plan", [dotted], check=False)
    assert result["returncode"] == 2
    assert "sudo silently ignores names" in result["error"]


# -- dry run and the storage guard ------------------------------------------------

EVERYTHING = [
    GROUP,
    ALICE,
    {"type": "directory", "path": "/data/users", "mode": "2755"},
    {
        "type": "directory",
        "path": "/data/users/alice",
        "owner": "alice",
        "group": "gpu-users",
        "mode": "0750",
    },
    {"type": "symlink", "path": "/home/alice", "target": "/data/users/alice"},
    PROFILE,
    SUDOERS,
]


def test_dry_run_leaves_the_server_byte_for_byte_unchanged(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    before = server.snapshot()
    result = server.converge("dry-run", EVERYTHING)
    assert len(result["planned"]) == len(EVERYTHING)
    assert result["applied"] == []
    assert server.snapshot() == before


def test_everything_converges_and_the_second_plan_is_empty(server):
    server.run(["mkdir", "-p", "/data/config/datakeeper"])
    _converges(server, EVERYTHING)


def test_storage_guard_refuses_an_unmounted_data_root_and_writes_nothing(server):
    server.reboot(mounted={"/data": False})
    before = server.snapshot()
    result = server.converge("apply", EVERYTHING, guard_roots=("/data",), check=False)
    assert result["returncode"] == 3
    assert result["type"] == "StorageNotPersistentError"
    assert "/data is not a mount point" in result["error"]
    assert server.snapshot() == before
    assert server.run(["ls", "-A", "/data"]).stdout == ""
    assert "alice" not in server.path("/etc/passwd").read_text()


def test_storage_guard_accepts_a_mounted_root(server):
    result = server.converge(
        "apply",
        [{"type": "directory", "path": "/data/users", "mode": "2755"}],
        guard_roots=("/data",),
    )
    assert result["applied"]


def test_storage_guard_accepts_a_marked_directory(server):
    server.reboot(mounted={"/data": False})
    server.run(
        [
            __import__("sys").executable,
            "-c",
            "from pathlib import Path; from datakeeper.storage import write_marker; "
            "write_marker(Path('/data'), 'data')",
        ]
    )
    spec = [{"type": "directory", "path": "/data/users", "mode": "2755"}]
    assert server.converge("apply", spec, guard_roots=("/data",))["applied"]
