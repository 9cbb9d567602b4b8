"""``user add / set / register``: inputs refused before any change, privileged groups only
by name, what recovery grants and reports, the undo of created things, and a member's
one-line refusal. No root needed: accounts are faked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datakeeper.cli import app as cli_app
from datakeeper.config import parse_config
from datakeeper.errors import ExitCode, InvalidInputError
from datakeeper.features.recovery.recover import user_step
from datakeeper.features.users import groups as privileged_groups
from datakeeper.features.users.groups import (
    check_privileged_groups,
    grantable_groups,
    registry_warnings,
)
from datakeeper.features.users.names import check_full_name
from datakeeper.registry import RegistryEntry
from datakeeper.resources import Symlink, UserAccount
from datakeeper.resources.directory import Directory
from datakeeper.resources.ownership import Ownership
from datakeeper.system.accounts import GroupInfo


@pytest.fixture
def cfg(tmp_path: Path):
    text = f'admin = "ubuntu"\n[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n'
    return parse_config(text, "test.toml")


@pytest.fixture(autouse=True)
def groups(monkeypatch):
    """Groups on this fake machine: "wheel0" has gid 0; everything else a normal gid."""
    table = {"wheel0": 0, "sudo": 27, "docker": 999, "lab": 2000, "gpu-users": 2001}

    def by_name(name: str):
        return GroupInfo(name, table[name], ()) if name in table else None

    monkeypatch.setattr(privileged_groups.accounts, "group_by_name", by_name)


# -- the full name -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Carol \x1b]0;T\x07",
        "Carol\nroot::0:0",
        "Carol\r",
        "Carol: Smith",
        "Smith, Carol",
        "Carol=1",
        "Carol \u202eevil",
        "Carol \x9b31m",
        "C" * 101,
    ],
    ids=["osc", "newline", "cr", "colon", "comma", "equals", "bidi", "c1", "long"],
)
def test_a_full_name_with_controls_or_field_separators_is_refused(name):
    with pytest.raises(InvalidInputError, match="full name") as caught:
        check_full_name(name)
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


@pytest.mark.parametrize("name", ["", "Carol O'Neil-Smith Jr.", "김철수", "José Núñez (PhD)"])
def test_an_ordinary_full_name_passes(name):
    check_full_name(name)


# -- privileged groups -------------------------------------------------------------


@pytest.mark.parametrize("group", ["sudo", "docker", "disk", "shadow", "lxd", "adm", "wheel0"])
def test_a_privileged_group_is_refused_without_an_allowance_naming_the_fix(cfg, group):
    with pytest.raises(InvalidInputError) as caught:
        check_privileged_groups(cfg, "alice", ("gpu-users", group), ())
    assert f"--allow-privileged-group {group}" in str(caught.value)
    assert caught.value.exit_code == ExitCode.INVALID


def test_an_allowed_privileged_group_is_returned_for_the_record_and_the_warning(cfg):
    allowed = check_privileged_groups(cfg, "alice", ("gpu-users", "sudo", "lab"), ("sudo",))
    assert allowed == ("sudo",)
    assert check_privileged_groups(cfg, "alice", ("gpu-users", "lab"), ()) == ()


def test_an_allowance_must_name_a_privileged_group_the_account_gets(cfg):
    with pytest.raises(InvalidInputError, match="not a privileged group"):
        check_privileged_groups(cfg, "alice", ("lab",), ("lab",))
    with pytest.raises(InvalidInputError, match="would not be in that group"):
        check_privileged_groups(cfg, "alice", ("lab",), ("docker",))


def test_the_site_admin_needs_no_allowance(cfg):
    assert check_privileged_groups(cfg, "ubuntu", ("sudo", "adm", "lxd"), ()) == ()


def _entry(**fields) -> RegistryEntry:
    return RegistryEntry(name="alice", uid=1500, gid=1500, primary_group="alice", **fields)


def test_the_registry_refuses_an_allowance_for_a_group_not_recorded():
    with pytest.raises(ValueError, match="privileged_groups_allowed"):
        _entry(groups=("lab",), privileged_groups_allowed=("sudo",))


def test_recovery_grants_a_privileged_group_only_when_allowed_and_reports_the_rest(cfg):
    entry = _entry(groups=("docker", "lab", "sudo"), privileged_groups_allowed=("docker",))
    assert grantable_groups(cfg, entry) == ("docker", "lab")
    step = user_step(cfg, entry)
    [account] = [r for r in step.resources if isinstance(r, UserAccount)]
    assert account.groups == ("docker", "lab")
    assert any("sudo" in note and "does not grant" in note for note in step.notes)
    assert any("docker" in note and "explicitly allowed" in note for note in step.notes)


def test_the_admin_record_is_recovered_with_every_group(cfg):
    admin = RegistryEntry(
        name="ubuntu", uid=1000, gid=1000, primary_group="ubuntu", groups=("adm", "sudo")
    )
    assert grantable_groups(cfg, admin) == ("adm", "sudo")
    assert registry_warnings(cfg, admin) == []


def test_check_and_user_show_warn_about_allowed_and_unallowed_privileged_groups(cfg):
    entry = _entry(groups=("lab", "shadow", "sudo"), privileged_groups_allowed=("sudo",))
    allowed, unallowed = registry_warnings(cfg, entry)
    assert "sudo" in allowed and "root-equivalent" in allowed
    assert "shadow" in unallowed and "--allow-privileged-group" in unallowed
    assert registry_warnings(cfg, _entry(groups=("lab",))) == []


# -- undo of what a failed run created ---------------------------------------------


def test_a_created_directory_is_undone_only_while_empty(tmp_path):
    path = tmp_path / "carol"
    [change] = Directory(path, Ownership("root", "root", 0o750)).plan()
    path.mkdir()
    change.undo()
    assert not path.exists()
    path.mkdir()
    (path / "kept").write_text("data")
    with pytest.raises(OSError):
        change.undo()
    assert (path / "kept").exists()


def test_a_created_link_is_undone_only_while_it_still_points_at_its_target(tmp_path):
    link = tmp_path / "carol"
    [change] = Symlink(link, tmp_path / "target").plan()
    change.action()
    change.undo()
    assert not os.path.lexists(link)
    change.action()
    os.unlink(link)
    os.symlink(tmp_path / "elsewhere", link)
    change.undo()
    assert os.readlink(link) == str(tmp_path / "elsewhere")


# -- a member running an admin command -----------------------------------------------


def test_a_member_hitting_a_root_only_file_gets_one_line_and_exit_3(monkeypatch, capsys):
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/data/config/datakeeper/registry.json")

    monkeypatch.setattr("datakeeper.config.load_config", refused)
    monkeypatch.setattr(cli_app.os, "geteuid", lambda: 1001)
    monkeypatch.setattr(cli_app.sys, "argv", ["datakeeper", "--json", "recovery", "status"])
    with pytest.raises(SystemExit) as caught:
        cli_app.main()
    assert caught.value.code == ExitCode.REFUSED
    err = capsys.readouterr().err
    assert err == "datakeeper: error: recovery status needs root; run it with sudo\n"
