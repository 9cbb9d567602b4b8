"""`datakeeper user add / list / show / set / register` with real accounts and real sshd."""

from __future__ import annotations

import json
import os
import stat

import pytest

pytestmark = pytest.mark.sandbox


def _add(server, name, *args, check=True):
    result = server.datakeeper("--json", "user", "add", name, *args, check=check)
    return json.loads(result.stdout) if result.returncode == 0 else result


def _registry(server):
    return json.loads(server.path("/data/config/datakeeper/registry.json").read_text())


def test_generated_key_logs_in_through_sshd_into_the_persistent_home(site):
    from tests.support.sshd import ssh_login, start_sshd

    sheet = _add(site, "alice", "--generate-key", "ed25519")
    key = sheet["private_key_path"]
    assert stat.S_IMODE(os.lstat(site.path(key)).st_mode) == 0o600
    start_sshd(site)
    out = ssh_login(site, "alice", key, "pwd -P; umask; echo $HF_HOME; id -Gn; cat ~/.condarc")
    lines = out.stdout.splitlines()
    assert lines[0] == "/data/users/alice"
    assert lines[1] == "0002"
    assert lines[2] == "/data/models/huggingface"
    assert "gpu-users" in lines[3].split()
    assert "/data/cache/conda/pkgs" in out.stdout


def test_generated_key_is_kept_through_the_plan_and_logged_without_the_key(site):
    keys = "/data/config/datakeeper/keys"
    before = site.snapshot()
    args = ("user", "add", "erin", "--generate-key", "ed25519")
    dry = json.loads(site.datakeeper("--json", "--dry-run", *args).stdout)
    [planned] = [c for c in dry["planned"] if c.startswith("generate an ed25519 key pair")]
    assert f"{keys}/erin_ed25519 (0600, root only)" in planned
    assert site.snapshot() == before  # the dry run made no key and wrote nothing
    sheet = _add(site, "erin", "--generate-key", "ed25519")
    [fingerprint] = sheet["key_fingerprints"]
    assert sheet["private_key_path"] == f"{keys}/erin_ed25519"
    stored = os.lstat(site.path(sheet["private_key_path"]))
    assert (stored.st_uid, stat.S_IMODE(stored.st_mode)) == (0, 0o600)
    log = site.path("/data/config/datakeeper/actions.log").read_text()
    [entry] = [json.loads(line) for line in log.splitlines() if '"private key erin"' in line]
    assert f"{keys}/erin_ed25519" in entry["change"] and fingerprint in entry["change"]
    secret = site.path(sheet["private_key_path"]).read_text().splitlines()[1]
    assert secret not in log
    assert not list(site.path("/data/config/datakeeper").glob(".datakeeper-key-*"))


def test_pasted_public_key_logs_in(site):
    from tests.support.sshd import ssh_login, start_sshd

    site.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/root/bobkey"])
    result = site.datakeeper("user", "add", "bob", "--ssh-key", "/root/bobkey.pub")
    assert "ssh bob@" in result.stdout
    start_sshd(site)
    assert ssh_login(site, "bob", "/root/bobkey", "id -un").stdout.strip() == "bob"


def test_account_home_and_registry_match(site):
    sheet = _add(site, "carol", "--shell", "bash", "--full-name", "Carol Park")
    uid = sheet["uid"]
    passwd = site.run(["getent", "passwd", "carol"]).stdout.strip()
    assert passwd == f"carol:x:{uid}:{uid}:Carol Park:/home/carol:/bin/bash"
    assert os.readlink(site.path("/home/carol")) == "/data/users/carol"
    home = os.lstat(site.path("/data/users/carol"))
    assert (home.st_uid, home.st_gid, stat.S_IMODE(home.st_mode)) == (uid, uid, 0o750)
    entry = _registry(site)["users"]["carol"]
    assert (entry["uid"], entry["gid"], entry["groups"]) == (uid, uid, ["gpu-users"])
    assert "hpcrc" in site.path("/data/users/carol/.bashrc").read_text()


def test_adding_twice_is_idempotent_with_env_only(site):
    _add(site, "dave")
    result = site.datakeeper("--json", "user", "add", "dave", check=False)
    assert result.returncode == 3
    assert "--env-only" in result.stderr
    again = _add(site, "dave", "--env-only")
    assert again["changes"] == []


def test_existing_dotfiles_are_never_overwritten(site):
    site.run(["mkdir", "-p", "/data/users/erin"])
    site.run(["sh", "-c", "echo 'my own rc' > /data/users/erin/.bashrc"])
    site.run(["chown", "-R", "1500:1500", "/data/users/erin"])
    sheet = _add(site, "erin", "--adopt-home")
    assert sheet["uid"] == 1500
    assert site.path("/data/users/erin/.bashrc").read_text() == "my own rc\n"


def test_orphaned_home_is_not_handed_to_a_newcomer(site):
    site.run(["mkdir", "-p", "/data/users/frank"])
    site.run(["chown", "1600:1600", "/data/users/frank"])
    before = site.snapshot()
    refused = site.datakeeper("user", "add", "frank", check=False)
    assert refused.returncode == 3
    assert "--adopt-home" in refused.stderr
    assert site.snapshot() == before
    newcomer = _add(site, "grace")
    assert newcomer["uid"] != 1600


def test_temporary_password_must_be_changed_at_first_login(site):
    sheet = _add(site, "heidi", "--temp-password")
    password = sheet["temp_password"]
    assert len(password) >= 12
    shadow = site.run(["getent", "shadow", "heidi"]).stdout.split(":")
    assert shadow[2] == "0"  # last change 0: expired, must change
    log = site.path("/data/config/datakeeper/actions.log").read_text()
    assert password not in log


def test_extra_groups_must_exist_and_are_recorded(site):
    refused = site.datakeeper("user", "add", "ivan", "--groups", "nosuch", check=False)
    assert refused.returncode == 2
    assert 'group "nosuch": does not exist' in refused.stderr
    site.run(["groupadd", "--gid", "2500", "lab-a"])
    _add(site, "ivan", "--groups", "lab-a")
    assert _registry(site)["groups"]["lab-a"] == 2500
    assert "lab-a" in site.run(["id", "-Gn", "ivan"]).stdout.split()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Alice"], "use lowercase letters"),
        (["a;id"], "use lowercase letters"),
        (["root"], "reserved for the system"),
        (["gpu-users"], "that is the site group"),
        (["judy", "--shell", "fish"], 'shell "fish": not allowed here'),
        (["judy", "--generate-key", "dsa"], "dsa"),
    ],
)
def test_bad_input_changes_nothing(site, args, message):
    before = site.snapshot()
    result = site.datakeeper("user", "add", *args, check=False)
    assert result.returncode in (2, 3)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert site.snapshot() == before


def test_list_show_and_drift(site):
    _add(site, "kim")
    site.run(["usermod", "--shell", "/bin/sh", "kim"])
    rows = json.loads(site.datakeeper("--json", "user", "list").stdout)
    states = {r["name"]: r["state"] for r in rows}
    assert states["kim"] == "drift: shell"
    assert states["admin"] == "registered"
    shown = json.loads(site.datakeeper("--json", "user", "show", "kim").stdout)
    assert shown["home_target"] == "/data/users/kim"


def test_set_changes_shell_and_groups_and_the_registry_follows(site):
    _add(site, "leo")
    site.run(["groupadd", "lab-b"])
    site.datakeeper("user", "set", "leo", "--add-groups", "lab-b")
    assert "lab-b" in _registry(site)["users"]["leo"]["groups"]
    site.datakeeper("user", "set", "leo", "--remove-groups", "lab-b")
    assert "lab-b" not in site.run(["id", "-Gn", "leo"]).stdout.split()
    assert "lab-b" not in _registry(site)["users"]["leo"]["groups"]


def test_register_and_unregister_an_account_made_by_hand(site):
    site.run(["useradd", "--create-home", "mia"])
    site.datakeeper("user", "register", "mia")
    assert "mia" in _registry(site)["users"]
    site.datakeeper("user", "unregister", "mia")
    assert "mia" not in _registry(site)["users"]
    assert site.run(["id", "mia"]).returncode == 0


def test_a_removed_users_uid_is_never_given_to_a_newcomer(site):
    old = _add(site, "olga")["uid"]
    site.run(["sh", "-c", "echo results > /data/dataset/olga-results"])
    site.run(["chown", "olga", "/data/dataset/olga-results"])
    site.datakeeper("user", "remove", "olga", "--archive", "--yes")
    newcomer = _add(site, "pavel")["uid"]
    assert newcomer != old
    assert _registry(site)["retired"] == {"olga": old}


def test_dry_run_of_a_new_user_plans_and_changes_nothing(site):
    before = site.snapshot()
    result = site.datakeeper("--json", "--dry-run", "user", "add", "quinn")
    planned = json.loads(result.stdout)["planned"]
    assert any("create account quinn" in line for line in planned)
    assert any("record quinn in the registry" in line for line in planned)
    assert site.snapshot() == before


def test_remove_then_re_add_with_kept_data_brings_the_same_uid_back(site):
    uid = _add(site, "rita")["uid"]
    site.run(["sh", "-c", "echo thesis > ~/thesis.tex"], user="rita", login=True)
    site.datakeeper("user", "remove", "rita", "--yes")
    assert site.run(["id", "rita"], check=False).returncode != 0
    again = _add(site, "rita", "--adopt-home")
    assert again["uid"] == uid
    owner = site.run(["stat", "-c", "%U %u", "/data/users/rita/thesis.tex"]).stdout.split()
    assert owner == ["rita", str(uid)]
    assert "rita" not in _registry(site)["retired"]
