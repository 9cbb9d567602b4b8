"""Password changes reach the registry, so a wipe does not undo them."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.sandbox

REGISTRY = "/data/config/datakeeper/registry.json"
ACTIONS = "/data/config/datakeeper/actions.log"
SAVED = "save admin's new password hash in the registry"


@pytest.fixture
def site(site):
    """The initialized site; admin's password was set once and recorded."""
    server = site
    server.run(["chpasswd"], input="admin:first-Secret-1\n")
    server.datakeeper("recovery", "sync-passwords")
    return server


def _shadow_hash(server, name: str) -> str:
    return server.run(["getent", "shadow", name]).stdout.split(":")[1]


def _recorded(server, name: str) -> str:
    return json.loads(server.path(REGISTRY).read_text())["users"][name]["password_hash"]


def _log(server) -> list[dict]:
    return [json.loads(line) for line in server.path(ACTIONS).read_text().splitlines()]


def _sync(server) -> dict:
    return json.loads(server.datakeeper("--json", "recovery", "sync-passwords").stdout)


def _passwd_as_user(server, name: str, old: str, new: str) -> None:
    """The user runs passwd on a terminal, as they would over ssh."""
    script = f"printf '%s\\n' '{old}' '{new}' '{new}' | passwd"
    server.run(["script", "-qec", script, "/dev/null"], user=name)


def test_sync_passwords_records_a_password_changed_with_passwd(site):
    old = _recorded(site, "admin")
    assert old == _shadow_hash(site, "admin") and old.startswith("$")
    _passwd_as_user(site, "admin", "first-Secret-1", "second-Secret-2")
    new = _shadow_hash(site, "admin")
    assert new != old
    assert _sync(site)["updated"] == ["admin"]
    assert _recorded(site, "admin") == new
    assert _sync(site)["updated"] == []


def test_the_changed_password_survives_a_wipe(site):
    _passwd_as_user(site, "admin", "first-Secret-1", "second-Secret-2")
    new = _shadow_hash(site, "admin")
    site.datakeeper("recovery", "sync-passwords")
    site.reboot()
    site.datakeeper("recover")
    assert _shadow_hash(site, "admin") == new
    assert _su(site, "admin", "second-Secret-2") == 0
    assert _su(site, "admin", "first-Secret-1") != 0


def _su(server, name: str, password: str) -> int:
    """Exit status of ``su`` to ``name`` with ``password`` typed on a terminal."""
    command = f"echo {password} | su -c true {name}"
    return server.run(
        ["script", "-qec", command, "/dev/null"], user="nobody", check=False
    ).returncode


def test_any_datakeeper_run_records_the_change_and_logs_it(site):
    site.run(["chpasswd"], input="admin:third-Secret-3\n")
    site.datakeeper("recovery", "enable")  # any command that changes the system
    assert _recorded(site, "admin") == _shadow_hash(site, "admin")
    log = site.path("/data/config/datakeeper/actions.log").read_text().splitlines()
    synced = [json.loads(line) for line in log if '"registry admin"' in line]
    assert synced and synced[-1]["change"] == SAVED
    assert _shadow_hash(site, "admin") not in "\n".join(log)


def test_a_session_saves_a_passwd_change_with_one_log_record(site):
    _passwd_as_user(site, "admin", "first-Secret-1", "second-Secret-2")
    new = _shadow_hash(site, "admin")
    before = _log(site)
    site.datakeeper("--dry-run", "recovery", "enable")  # a dry run saves nothing
    assert _recorded(site, "admin") != new
    assert _log(site) == before
    site.datakeeper("recovery", "enable")  # the first real session saves it
    assert _recorded(site, "admin") == new
    records = [e for e in _log(site)[len(before) :] if e["resource"] == "registry admin"]
    assert [(e["change"], e["outcome"]) for e in records] == [(SAVED, "applied")]
    assert new not in site.path(ACTIONS).read_text()


def test_after_a_wipe_nothing_is_overwritten(site):
    recorded = _recorded(site, "admin")
    site.reboot()
    assert _sync(site)["updated"] == []  # /etc knows no admin now
    site.run(["useradd", "--uid", "4321", "admin"])  # someone else under that name
    site.run(["chpasswd"], input="admin:impostor-Secret\n")
    assert _sync(site)["updated"] == []
    assert _recorded(site, "admin") == recorded


def test_dry_run_changes_nothing(site):
    site.run(["chpasswd"], input="admin:fourth-Secret-4\n")
    recorded = _recorded(site, "admin")
    before = _log(site)
    found = json.loads(site.datakeeper("--json", "--dry-run", "recovery", "sync-passwords").stdout)
    assert found == {"dry_run": True, "updated": ["admin"], "held_back": {}}
    assert _recorded(site, "admin") == recorded
    assert _log(site) == before
    assert _sync(site)["updated"] == found["updated"]  # the real run does what it showed
