"""``user migrate`` (issue 16): link <-> hybrid with a journal, verified, resumed after a
SIGKILL, rolled back; logins through the real sshd (StrictModes on) with ``~/.ssh``
reached through a link."""

from __future__ import annotations

import json

import pytest

from tests.support.site_setup import NO_SOFTWARE
from tests.support.sshd import ssh_login, sshd_log, start_sshd

pytestmark = pytest.mark.sandbox

NAME = "mira"
PERSISTENT = f"/data/users/{NAME}"
FAULT = "DATAKEEPER_FAULT_KILL_AT"
# Type, mode, owner, group, size and link text of every entry, then every file's hash.
CHECKSUM = (
    f"find {PERSISTENT} /home/{NAME} -printf '%p %y %m %u %g %s %l\\n' | sort; "
    f"find {PERSISTENT} -type f -print0 | sort -z | xargs -0 sha256sum"
)


@pytest.fixture
def site_config() -> str:
    """The data root without group write: sshd's StrictModes then accepts a linked ~/.ssh."""
    return NO_SOFTWARE + '\n[storage]\nroot_mode = "3755"\n'


@pytest.fixture
def member(site):
    """``mira`` in the link layout, with a key, work, a conda folder and a planted link."""
    argv = ("--json", "user", "add", NAME, "--generate-key", "ed25519", "--yes")
    sheet = json.loads(site.datakeeper(*argv).stdout)
    script = (
        "mkdir -p ~/proj/a; mkdir -m 0750 ~/conda; echo notes > ~/notes.txt; "
        "head -c 200000 /dev/urandom > ~/proj/a/w.bin; chmod 640 ~/proj/a/w.bin; "
        "ln -s /etc/passwd ~/.gitconfig; ln -s /etc ~/proj/etc-link; "
        "echo \"alias hi='echo hello'\" >> ~/.bashrc"
    )
    site.run(["sh", "-c", script], user=NAME, login=True)
    return site, sheet["private_key_path"]


def checksum(server) -> str:
    return server.run(["sh", "-c", CHECKSUM]).stdout


def migrate(server, *args: str, env: dict | None = None, check: bool = True):
    return server.datakeeper("user", "migrate", *args, "--yes", env=env, check=check)


def recorded_layout(server) -> str:
    text = server.path("/data/config/datakeeper/registry.json").read_text()
    return json.loads(text)["users"][NAME]["home_layout"]


def login(server, key: str, command: str) -> str:
    result = ssh_login(server, NAME, key, command)
    assert result.returncode == 0, f"{result.stderr}\n--- sshd log ---\n{sshd_log(server)}"
    return result.stdout


def test_link_to_hybrid_and_back_is_identical_and_logs_in_through_the_linked_ssh(member):
    server, key = member
    before, etc = checksum(server), server.run(["sha256sum", "/etc/passwd"]).stdout
    dry = migrate(server, NAME, "--to", "hybrid", "--dry-run").stdout
    assert f"move {PERSISTENT}/.ssh/authorized_keys -> {PERSISTENT}/dotfiles/.ssh/" in dry
    assert checksum(server) == before
    report = json.loads(migrate(server, "--json", NAME, "--to", "hybrid").stdout)
    assert report["status"] == "migrated" and report["verify"]["ok"], report
    assert recorded_layout(server) == "hybrid"
    assert server.run(["readlink", f"{PERSISTENT}/dotfiles/.gitconfig"]).stdout == "/etc/passwd\n"
    assert server.run(["sha256sum", "/etc/passwd"]).stdout == etc
    start_sshd(server)
    out = login(server, key, "echo $HOME; readlink ~/.ssh; cat ~/data/notes.txt; bash -ic hi")
    assert out.split()[:4] == [f"/home/{NAME}", f"{PERSISTENT}/dotfiles/.ssh", "notes", "hello"]
    back = json.loads(migrate(server, "--json", NAME, "--to", "link").stdout)
    assert back["status"] == "migrated", back
    assert checksum(server) == before
    assert recorded_layout(server) == "link"
    assert login(server, key, "pwd -P").strip() == PERSISTENT


@pytest.mark.parametrize("kill_at", [1, 3, 6, 12])
def test_a_migration_killed_anywhere_resumes_or_rolls_back_to_the_identical_tree(member, kill_at):
    server, _key = member
    before = checksum(server)
    killed = migrate(server, NAME, "--to", "hybrid", env={FAULT: str(kill_at)}, check=False)
    assert killed.returncode in (-9, 137), killed.stdout + killed.stderr
    journal = json.loads(server.path(f"/data/config/datakeeper/migrations/{NAME}.json").read_text())
    assert journal["state"] == "running"
    if kill_at % 2:
        assert "resuming" in migrate(server, NAME, "--to", "hybrid").stdout
        assert recorded_layout(server) == "hybrid"
    rolled = migrate(server, NAME, "--rollback")
    assert "back to the link layout" in rolled.stdout
    assert checksum(server) == before
    assert recorded_layout(server) == "link"


def test_a_hybrid_home_killed_on_its_way_back_is_rolled_back_to_a_directory_home(member):
    server, key = member
    migrate(server, NAME, "--to", "hybrid")
    server.run(["sh", "-c", "echo scratch > ~/scratch.txt"], user=NAME, login=True)
    hybrid = checksum(server)
    killed = migrate(server, NAME, "--to", "link", env={FAULT: "3"}, check=False)
    assert killed.returncode in (-9, 137)
    migrate(server, NAME, "--rollback")
    assert checksum(server) == hybrid
    assert server.run(["cat", f"/home/{NAME}/scratch.txt"]).stdout == "scratch\n"
    start_sshd(server)
    assert login(server, key, "echo $HOME; pwd -P").split() == [f"/home/{NAME}"] * 2


def test_refuses_while_the_user_runs_a_process(member):
    server, _key = member
    before = checksum(server)
    server.run(["sh", "-c", f"runuser -u {NAME} -- sleep 300 >/dev/null 2>&1 &"])
    refused = migrate(server, NAME, "--to", "hybrid", check=False)
    assert refused.returncode == 3
    assert "--force" in refused.stderr
    assert checksum(server) == before
    forced = migrate(server, NAME, "--to", "hybrid", "--force")
    assert "home migrated to hybrid" in forced.stdout


def test_without_a_terminal_and_without_yes_it_refuses_at_once(member):
    server, _key = member
    result = server.datakeeper("user", "migrate", NAME, "--to", "hybrid", check=False)
    assert result.returncode == 2 and "--yes" in result.stderr


def test_all_migrates_one_user_at_a_time_and_reports_a_failure_with_exit_1(member):
    server, _key = member
    for name in ("nils", "olga"):
        server.datakeeper("user", "add", name, "--yes")
    server.run(["rm", "/home/olga"])  # a broken home: neither layout
    result = migrate(server, "--json", "--all", "--to", "hybrid", check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    statuses = {user["user"]: user["status"] for user in report["users"]}
    assert statuses == {"admin": "migrated", NAME: "migrated", "nils": "migrated", "olga": "failed"}
    assert report["failed"] == 1
    assert server.run(["readlink", "/home/nils/data"]).stdout == "/data/users/nils\n"
