"""After the SSD is wiped, `datakeeper recover` brings every account back identically."""

from __future__ import annotations

import json

import pytest

from tests.support.site_setup import init_site as _init
from tests.support.site_setup import prepare_site as _prepare

pytestmark = pytest.mark.sandbox

NEW_PASSWORD = "N3w-Secret-pw!"


def _accounts(server, names):
    """passwd, group and shadow lines of ``names`` (plus their groups), for comparison."""
    passwd = {n: server.run(["getent", "passwd", n]).stdout.strip() for n in names}
    shadow = {n: server.run(["getent", "shadow", n]).stdout.split(":")[:2] for n in names}
    groups = {n: server.run(["id", "-G", n]).stdout.split() for n in names}
    return passwd, shadow, groups


def _owners(server):
    """owner:group of every file under /data/users, by path."""
    out = server.run(["find", "/data/users", "-printf", "%p %u %g\\n"]).stdout
    return sorted(out.splitlines())


def _populate(server, count):
    """A site with ``count`` users: keys, two shells, extra groups, one changed password."""
    _prepare(server)
    _init(server)
    server.run(["groupadd", "--gid", "3100", "lab-a"])
    server.run(["groupadd", "--gid", "3200", "lab-b"])
    names = [f"user{i:02d}" for i in range(count)]
    for i, name in enumerate(names):
        args = ["--generate-key", "ed25519", "--shell", "zsh" if i % 3 == 0 else "bash"]
        if i % 4 == 0:
            args += ["--groups", "lab-a,lab-b" if i % 8 == 0 else "lab-a"]
        if i == 5 or (count < 6 and i == 1):
            args.append("--temp-password")
        result = server.datakeeper("--json", "user", "add", name, "--yes", *args)
        sheet = json.loads(result.stdout)
        if "--temp-password" in args:
            server.dialog(
                ["passwd"],
                [
                    ("Current password:", sheet["temp_password"]),
                    ("New password:", NEW_PASSWORD),
                    ("Retype new password:", NEW_PASSWORD),
                ],
                user=name,
            )
        server.run(
            ["sh", "-c", f"echo {name} > ~/notes.txt; mkdir -p ~/proj/a; echo x > ~/proj/a/f"],
            user=name,
            login=True,
        )
    return server, names


@pytest.fixture
def populated(server):
    return _populate(server, 20)


@pytest.fixture
def small_site(server):
    return _populate(server, 4)


def test_recover_after_a_wipe_restores_everything(populated):
    from tests.support.sshd import ssh_login, start_sshd

    server, names = populated
    server.datakeeper("recovery", "sync-passwords", check=False)
    before = _accounts(server, [*names, "admin"])
    owners = _owners(server)

    server.reboot()
    assert server.run(["id", "user00"], check=False).returncode != 0  # /etc was wiped
    result = server.datakeeper("--json", "recover")
    report = json.loads(result.stdout)
    assert report["ok"], report["summary"]

    assert _accounts(server, [*names, "admin"]) == before
    assert _owners(server) == owners
    start_sshd(server)
    for name in names:
        key = f"/data/config/datakeeper/keys/{name}_ed25519"
        out = ssh_login(server, name, key, "id -un; pwd -P").stdout.split()
        assert out == [name, f"/data/users/{name}"]
    su = server.dialog(
        ["su", "-c", "id -un", "user05"], [("Password:", NEW_PASSWORD)], user="user06"
    )
    assert su.stdout.strip().endswith("user05")
    check = server.datakeeper("--json", "check", check=False)
    failures = [r for r in json.loads(check.stdout)["results"] if r["status"] == "FAIL"]
    assert failures == []

    again = json.loads(server.datakeeper("--json", "recover", "--dry-run").stdout)
    planned = [c for part in ("site", "users") for s in again[part] for c in s["changes"]]
    assert planned == []


def test_unmounted_data_root_is_refused_and_nothing_appears_on_the_ssd(small_site):
    server, _names = small_site
    server.reboot(mounted={"/data": False})
    before = server.snapshot()
    result = server.datakeeper("recover", check=False)
    assert result.returncode == 3
    assert "not a mount point" in result.stderr
    assert server.snapshot() == before


def test_a_uid_collision_skips_that_user_only(small_site):
    server, names = small_site
    registry = json.loads(server.path("/data/config/datakeeper/registry.json").read_text())
    stolen = registry["users"]["user03"]["uid"]
    server.reboot()
    server.run(["useradd", "--no-create-home", "--no-user-group", "--uid", str(stolen), "intruder"])
    result = server.datakeeper("--json", "recover", check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    skipped = [u for u in report["users"] if u["status"] == "failed"]
    assert [u["title"] for u in skipped] == ["user03"]
    assert "account intruder already has it" in skipped[0]["errors"][0]
    for name in names:
        if name != "user03":
            assert server.run(["id", "-un", name]).stdout.strip() == name


def test_real_ssd_home_is_merged_before_the_link(small_site):
    server, _names = small_site
    server.reboot()
    server.run(["mkdir", "-p", "/home/user01"])
    server.run(
        ["sh", "-c", "echo early > /home/user01/early.txt; echo ssd > /home/user01/notes.txt"]
    )
    server.datakeeper("recover")
    assert server.run(["cat", "/data/users/user01/early.txt"]).stdout == "early\n"
    assert server.run(["cat", "/data/users/user01/notes.txt"]).stdout == "user01\n"
    rescued = server.run(["sh", "-c", "cat /data/users/user01/rescued-*/notes.txt"]).stdout
    assert rescued == "ssd\n"


def test_recover_killed_anywhere_converges_on_the_next_run(small_site):
    server, names = small_site
    before = _accounts(server, names)
    owners = _owners(server)
    for kill_at in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89):
        server.reboot()
        fault = {"DATAKEEPER_FAULT_KILL_AT": str(kill_at)}
        killed = server.datakeeper("recover", env=fault, check=False)
        assert killed.returncode in (-9, 137, 0), killed.stderr
        server.datakeeper("recover")
        assert _accounts(server, names) == before, f"killed at change {kill_at}"
        assert _owners(server) == owners, f"killed at change {kill_at}"


def test_recover_brings_back_the_boot_service_and_the_alert_schedule(server):
    _prepare(server)
    _init(server)
    server.datakeeper("recovery", "enable")
    server.datakeeper("disk", "alert", "enable")
    boot_unit = "/etc/systemd/system/datakeeper-recovery.service"
    cron = "/etc/cron.d/datakeeper-disk-alert"
    assert server.path(boot_unit).exists() and server.path(cron).exists()
    server.reboot()
    assert not server.path(boot_unit).exists() and not server.path(cron).exists()
    server.datakeeper("recover")
    assert server.path(boot_unit).exists()
    assert "disk alert" in server.path(cron).read_text()
    assert server.path("/etc/profile.d/00-recovery-check.sh").exists()


def test_recorded_passwords_come_back_in_one_step_after_the_accounts(small_site):
    server, _names = small_site
    server.datakeeper("recovery", "sync-passwords", check=False)  # user01 changed theirs
    registry = json.loads(server.path("/data/config/datakeeper/registry.json").read_text())
    recorded = {n: e["password_hash"] for n, e in registry["users"].items() if e["password_hash"]}
    assert recorded.get("user01", "").startswith("$")  # a real hash among them
    server.reboot()
    report = json.loads(server.datakeeper("--json", "recover").stdout)
    [passwords] = [step for step in report["site"] if step["key"] == "PASSWORDS"]
    assert passwords["status"] == "changed" and len(passwords["changes"]) == 1
    real = [name for name, hashed in recorded.items() if hashed.startswith("$")]
    assert all(name in passwords["changes"][0] for name in real)  # "!" is useradd's own
    shadow = {n: server.run(["getent", "shadow", n]).stdout.split(":")[1] for n in recorded}
    assert shadow == recorded
    again = json.loads(server.datakeeper("--json", "recover").stdout)
    assert [s["status"] for s in again["site"] if s["key"] == "PASSWORDS"] == ["unchanged"]
    log = server.run(["grep", "-c", "recorded passwords", "/data/config/datakeeper/actions.log"])
    assert log.stdout.strip() == "1"  # one record, however many accounts
