"""Real resources in a dry run: each is planned against what the ones before it would do,
and nothing changes (no file, no account). Runs in a temporary tree, no root needed."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

import pytest

from datakeeper.engine import Executor
from datakeeper.resources import Directory, Group, GroupMembership, Symlink, UserAccount
from datakeeper.resources.home import HomeDirectory, HomeMigration
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.registered import Registered, RegisteredGroup
from datakeeper.resources.seed import SeedFile
from datakeeper.system import accounts, commands

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
NEW_GROUP = "dk-planned-group"  # exist nowhere: the dry run must not create them
NEW_USER = "dk-planned-user"


@pytest.fixture(autouse=True)
def no_commands(monkeypatch):
    """A dry run runs no command (no groupadd, no useradd): any call fails the test."""

    def refuse(argv, **kwargs):
        raise AssertionError(f"a dry run ran {argv}")

    monkeypatch.setattr(commands, "run", refuse)
    assert accounts.group_by_name(NEW_GROUP) is None and accounts.user_by_name(NEW_USER) is None


def tree(root: Path) -> dict[str, tuple]:
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        found[str(path.relative_to(root))] = (info.st_mode, info.st_uid, content)
    return found


@pytest.fixture
def ssd_home(tmp_path):
    """A home on the SSD (a real directory) and its persistent home, which has a
    different thesis.tex already."""
    home, persistent = tmp_path / "home" / "me", tmp_path / "data" / "users" / "me"
    home.mkdir(parents=True)
    persistent.mkdir(parents=True)
    (home / "thesis.tex").write_text("ssd draft\n")
    (home / ".condarc").write_text("mine\n")
    (home / "code").mkdir()
    (home / "code" / "train.py").write_text("print(1)\n")
    os.mkfifo(home / "pipe")
    (persistent / "thesis.tex").write_text("persistent\n")
    return home, persistent


def home_resources(home: Path, persistent: Path) -> list:
    dotfile = Ownership(ME, MY_GROUP, 0o644)
    return [
        HomeDirectory(persistent, ME, MY_GROUP, 0o750),
        HomeMigration(home, persistent),
        Symlink(home, persistent),
        SeedFile(persistent / ".condarc", b"site\n", dotfile),
        SeedFile(persistent / ".hpcrc", b"site\n", dotfile),
    ]


def test_a_home_to_migrate_plans_the_merge_the_link_and_only_the_missing_dotfiles(
    tmp_path, ssd_home
):
    home, persistent = ssd_home
    before = tree(tmp_path)

    outcome = Executor(dry_run=True).converge(home_resources(home, persistent))

    summaries = [c.summary for c in outcome.planned]
    merge = next(s for s in summaries if s.startswith("move the content"))
    assert f"{home} into {persistent}" in merge
    assert f"conflicting entries kept under {persistent}/rescued-…/: 1 (thesis.tex)" in merge
    assert "skipped (sockets, FIFOs, devices): 1 (pipe)" in merge
    assert f"link {home} -> {persistent}" in summaries
    assert [s for s in summaries if ".condarc" in s or ".hpcrc" in s] == [
        f"create {persistent / '.hpcrc'} ({ME}:{MY_GROUP} 0644)"  # .condarc comes with the merge
    ]
    assert outcome.ok
    assert tree(tmp_path) == before


def test_the_applied_merge_reports_what_it_rescued_and_skipped(tmp_path, ssd_home):
    home, persistent = ssd_home
    resources = home_resources(home, persistent)
    planned = Executor(dry_run=True).converge(resources).planned

    outcome = Executor().converge(resources)

    assert [c.summary for c in outcome.applied] == [c.summary for c in planned]
    merge = next(c for c in outcome.applied if c.resource == f"home {home}")
    rescued = next(persistent.glob("rescued-*"))
    assert (rescued / "thesis.tex").read_text() == "ssd draft\n"
    assert f"conflicting entries kept under {rescued}/: 1 (thesis.tex)" in merge.result
    assert "skipped (sockets, FIFOs, devices): 1 (pipe)" in merge.result
    assert "moved aside to" in merge.result
    assert os.readlink(home) == str(persistent)
    assert (persistent / ".condarc").read_text() == "mine\n"
    assert Executor(dry_run=True).converge(resources).planned == []


def test_a_new_group_and_account_are_planned_once_and_used_by_what_follows(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    registry = tmp_path / "registry.json"
    folder = Directory(shared, Ownership(ME, NEW_GROUP, 0o2775))
    account = UserAccount(NEW_USER, None, NEW_GROUP, (), "/bin/bash", "", str(tmp_path / "u"))
    resources = [
        Group(NEW_GROUP),
        RegisteredGroup(NEW_GROUP, registry),
        folder,
        folder,  # already planned: nothing more to do
        account,
        account,
        GroupMembership(NEW_USER, MY_GROUP),
        HomeDirectory(tmp_path / "u", NEW_USER, NEW_GROUP, 0o750),
        Registered(NEW_USER, registry, lambda: pytest.fail("described before it exists")),
    ]
    before = tree(tmp_path)

    outcome = Executor(dry_run=True).converge(resources)

    assert [c.summary for c in outcome.planned] == [
        f"create group {NEW_GROUP} (next free gid)",
        f"record group {NEW_GROUP} (gid once created) in the registry",
        f"fix {shared}: group {MY_GROUP} -> {NEW_GROUP}, mode 0755 -> 2775",
        f"create account {NEW_USER} (uid next free, group {NEW_GROUP}, shell /bin/bash)",
        f"add {NEW_USER} to group {MY_GROUP}",
        f"create directory {tmp_path / 'u'} ({NEW_USER}:{NEW_GROUP} 0750)",
        f"record {NEW_USER} in the registry once the account exists",
    ]
    assert tree(tmp_path) == before
    assert accounts.group_by_name(NEW_GROUP) is None
    assert accounts.user_by_name(NEW_USER) is None
