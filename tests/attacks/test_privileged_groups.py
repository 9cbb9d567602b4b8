"""Issue 11, item 7: root-equivalent groups were granted silently, and for ever.

The attack: the admin (or a script, or a prompt answered too quickly) runs
``user add mallory --groups sudo``, ``user set --add-groups docker`` or
``user register`` of an account someone put in ``sudo``; datakeeper accepted
it, recorded it, and ``recover`` granted it again after every wipe. Now a
privileged group is refused unless ``--allow-privileged-group NAME`` names it;
an allowed one is warned about, logged, and shown by ``user show`` and
``check``; recovery grants a recorded privileged group only when the record
allows it.
"""

from __future__ import annotations

import json

REGISTRY = "/data/config/datakeeper/registry.json"
LOG = "/data/config/datakeeper/actions.log"
PRIVILEGED = ("root", "shadow", "disk", "adm", "staff", "docker", "lxd")


def _registry(server) -> dict:
    return json.loads(server.path(REGISTRY).read_text())


def _groups(server, name: str) -> list[str]:
    return server.run(["id", "-Gn", name]).stdout.split()


def _exists(server, database: str, name: str) -> bool:
    return server.run(["getent", database, name], check=False).returncode == 0


def _refused(result, group: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"--allow-privileged-group {group}" in result.stderr
    assert "Traceback" not in result.stderr


def test_user_add_with_sudo_or_another_root_equivalent_group_is_refused(site):
    for group in ("docker", "lxd"):
        site.run(["groupadd", "--system", group], check=False)
    _refused(site.datakeeper("user", "add", "mallory", "--groups", "sudo", check=False), "sudo")
    for group in PRIVILEGED:
        result = site.datakeeper("user", "add", "mallory", "--groups", group, check=False)
        _refused(result, group)
    assert not _exists(site, "passwd", "mallory") and not _exists(site, "group", "mallory")
    assert "mallory" not in _registry(site)["users"]


def test_user_set_add_groups_sudo_needs_the_allowance_which_is_warned_logged_and_shown(site):
    site.datakeeper("--json", "user", "add", "alice")
    _refused(site.datakeeper("user", "set", "alice", "--add-groups", "sudo", check=False), "sudo")
    assert "sudo" not in _groups(site, "alice")

    allowed = site.datakeeper(
        "user", "set", "alice", "--add-groups", "sudo", "--allow-privileged-group", "sudo"
    )
    assert "warning: alice is in privileged group sudo" in allowed.stderr
    assert "sudo" in _groups(site, "alice")
    assert _registry(site)["users"]["alice"]["privileged_groups_allowed"] == ["sudo"]
    logged = [json.loads(line) for line in site.path(LOG).read_text().splitlines()]
    assert any(e["outcome"] == "warning" and "sudo" in e["change"] for e in logged)
    shown = site.datakeeper("user", "show", "alice").stdout
    assert "privileged group sudo" in shown
    report = json.loads(site.datakeeper("--json", "check", check=False).stdout)
    warns = [r for r in report["results"] if r["status"] == "WARN"]
    assert any("alice" in r["subject"] and "sudo" in r["detail"] for r in warns), warns


def test_user_register_of_a_sudo_member_is_refused_without_the_allowance(site):
    site.run(["useradd", "-m", "-G", "sudo,gpu-users", "bob"])
    _refused(site.datakeeper("user", "register", "bob", check=False), "sudo")
    assert "bob" not in _registry(site)["users"]
    site.datakeeper("user", "register", "bob", "--allow-privileged-group", "sudo")
    assert _registry(site)["users"]["bob"]["privileged_groups_allowed"] == ["sudo"]


def test_recovery_grants_a_recorded_privileged_group_only_when_it_was_allowed(site):
    site.datakeeper("--json", "user", "add", "alice", "--groups", "sudo",
                    "--allow-privileged-group", "sudo")  # fmt: skip
    site.datakeeper("--json", "user", "add", "carol")
    # A registry written before this fix: carol recorded in sudo, nobody allowed it.
    document = _registry(site)
    document["users"]["carol"]["groups"] = ["gpu-users", "sudo"]
    site.path(REGISTRY).write_text(json.dumps(document, indent=2) + "\n")

    site.reboot()
    report = json.loads(site.datakeeper("--json", "recover", check=False).stdout)
    assert "sudo" in _groups(site, "alice")
    assert "sudo" not in _groups(site, "carol")
    assert "gpu-users" in _groups(site, "carol")
    [carol] = [u for u in report["users"] if u["title"] == "carol"]
    assert any("sudo" in note and "does not grant" in note for note in carol["notes"]), carol
