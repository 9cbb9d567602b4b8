"""``user migrate``: plan, journal, resume, rollback and verify on a home in a temp folder.

Accounts are faked and /home is a folder of the test, so no root is needed.
The tree of the persistent home and the login home is compared as a whole
(type, mode, owner, content or link text) before and after.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from datakeeper import storage
from datakeeper.config import parse_config
from datakeeper.errors import DatakeeperError, RefusedError
from datakeeper.features.users import layouts
from datakeeper.features.users.migrate import plan as migrate_plan
from datakeeper.features.users.migrate import steps as migrate_steps
from datakeeper.features.users.migrate.journal import journal_path, load_journal
from datakeeper.features.users.migrate.plan import MigrateRequest, prepare
from datakeeper.features.users.migrate.run import migrate_all, migrate_user, rollback_user
from datakeeper.registry import RegistryEntry, open_registry, read_document
from datakeeper.system import accounts, activity
from datakeeper.system.accounts import GroupInfo, UserInfo

UID = os.getuid() or 1001


class Stop(Exception):
    """Stands for a SIGKILL: the run ends between two changes."""


@pytest.fixture
def site(tmp_path: Path, monkeypatch):
    users = {"bob": UserInfo("bob", UID, UID, "", "/home/bob", "/bin/bash")}
    groups = {UID: GroupInfo("bob", UID, ())}
    monkeypatch.setattr(accounts, "user_by_name", users.get)
    monkeypatch.setattr(accounts, "group_by_gid", groups.get)
    monkeypatch.setattr(accounts, "group_by_name", {"bob": groups[UID]}.get)
    monkeypatch.setattr(migrate_plan.logindefs, "uid_min", lambda: 1000 if UID >= 1000 else 0)
    monkeypatch.setattr(activity, "login_sessions", lambda name: [])
    monkeypatch.setattr(activity, "user_processes", lambda uid: [])
    monkeypatch.setattr(storage, "ensure_persistent", lambda root: None)
    monkeypatch.setattr(layouts, "ssh_chain_problem", lambda cfg: None)  # /tmp is 1777
    home_root = tmp_path / "home"
    for module in (layouts, migrate_plan, migrate_steps):
        monkeypatch.setattr(module, "HOME_ROOT", home_root)
    cfg = parse_config(f'[storage]\ndata_root = "{tmp_path}/data"\n', "test")
    _linked_home(cfg, home_root)
    return cfg


def _linked_home(cfg, home_root: Path) -> None:
    """bob in the link layout: dotfiles, keys, a project, a link planted to /etc."""
    home = cfg.users_dir / "bob"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "authorized_keys").write_text("ssh-ed25519 AAAA bob\n")
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    (home / ".gitconfig").symlink_to("/etc/passwd")  # planted: moved as a link
    (home / "proj" / "a").mkdir(parents=True)
    (home / "proj" / "a" / "w.bin").write_bytes(os.urandom(3000))
    os.chmod(home, 0o700)
    if os.getuid() == 0:  # the home is bob's, as a real one is
        for folder, dirs, files in os.walk(home):
            for name in [".", *dirs, *files]:
                os.lchown(os.path.join(folder, name), UID, UID)
    home_root.mkdir()
    (home_root / "bob").symlink_to(home)
    cfg.state_dir.mkdir(parents=True)
    with open_registry(cfg.registry_path) as registry:
        registry.upsert(RegistryEntry(name="bob", uid=UID, gid=UID, primary_group="bob"))


def tree(cfg) -> dict[str, tuple]:
    """Everything under the persistent home and the login home, as lstat sees it."""
    found = {}
    for top in (cfg.users_dir / "bob", layouts.ssd_home("bob")):
        found[str(top)] = _entry(top)
        if top.is_symlink():
            continue
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                found[os.path.join(folder, name)] = _entry(Path(folder, name))
    return found


def _entry(path: Path) -> tuple:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        content = os.readlink(path)
    elif stat.S_ISREG(info.st_mode):
        content = path.read_bytes()
    else:
        content = None
    return stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_uid, content


def _layout(cfg) -> str:
    return read_document(cfg.registry_path).users["bob"].home_layout


def test_the_plan_lists_every_file_that_moves_and_writes_nothing(site):
    before = tree(site)
    plan = prepare(site, MigrateRequest("bob", "hybrid"))
    users = site.users_dir
    lines = plan.lines()
    assert lines[0] == "bob: home layout link -> hybrid"
    assert (
        f"  move {users}/bob/.ssh/authorized_keys -> {users}/bob/dotfiles/.ssh/authorized_keys"
        in lines
    )
    assert f"  move {users}/bob/.gitconfig -> {users}/bob/dotfiles/.gitconfig" in lines
    assert not [line for line in lines if "proj" in line]
    report = migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=True)
    summaries = [c.summary for c in report.planned]
    assert f"move {users}/bob/.bashrc to {users}/bob/dotfiles/.bashrc" in summaries
    assert "home_migration.move" in {c.code for c in report.planned}
    assert any(s.startswith(f"link {layouts.ssd_home('bob')}/data ->") for s in summaries)
    assert tree(site) == before
    assert not journal_path(site, "bob").exists()


def test_link_to_hybrid_and_back_gives_the_identical_tree(site):
    before = tree(site)
    report = migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False)
    assert report.status == "migrated", report.error
    assert report.verify["missing"] == report.verify["changed"] == 0
    assert layouts.layout_of(site, "bob") == "hybrid" and _layout(site) == "hybrid"
    dotfiles = site.users_dir / "bob" / "dotfiles"
    assert os.readlink(dotfiles / ".gitconfig") == "/etc/passwd"  # a link, never followed
    assert (layouts.ssd_home("bob") / ".bashrc").read_text() == "alias ll='ls -l'\n"
    back = migrate_user(site, MigrateRequest("bob", "link"), dry_run=False)
    assert back.status == "migrated", back.error
    after = tree(site)
    conda = str(site.users_dir / "bob" / "conda")  # the hybrid layout's kept folder
    assert after.pop(conda)[0] == stat.S_IFDIR
    assert after == before
    assert _layout(site) == "link"


def test_the_journal_is_private_and_records_each_step(site):
    migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False)
    path = journal_path(site, "bob")
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["state"] == "verified" and data["home"] == {
        "kind": "symlink",
        "target": str(site.users_dir / "bob"),
        "aside": None,
    }
    assert set(data["steps"].values()) == {"done"}
    assert "move .bashrc" in data["steps"]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def _killed_at(site, count: int, request: MigrateRequest) -> None:
    seen = []

    def stop(change, outcome):
        seen.append(change)
        if len(seen) == count:
            raise Stop

    with pytest.raises(Stop):
        migrate_user(site, request, dry_run=False, on_change=stop)


@pytest.mark.parametrize("count", [1, 2, 4, 6, 9, 14])
def test_a_killed_migration_resumes_or_rolls_back_to_the_identical_tree(site, count, tmp_path):
    before = tree(site)
    _killed_at(site, count, MigrateRequest("bob", "hybrid"))
    assert load_journal(site, "bob").state == "running"
    report = migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False)
    assert report.status == "migrated" and report.plan.resumed, report.error
    undone = rollback_user(site, "bob", dry_run=False)
    assert undone.status == "rolled-back", undone.error
    assert tree(site) == before
    assert _layout(site) == "link"


@pytest.mark.parametrize("count", [1, 3, 5, 8])
def test_rollback_of_a_killed_migration_restores_it(site, count):
    before = tree(site)
    _killed_at(site, count, MigrateRequest("bob", "hybrid"))
    assert rollback_user(site, "bob", dry_run=False).status == "rolled-back"
    assert tree(site) == before


@pytest.mark.parametrize("count", [1, 2, 5, 7])
def test_rollback_to_hybrid_recreates_the_directory_home(site, count):
    migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False)
    (layouts.ssd_home("bob") / "scratch.txt").write_text("ssd\n")
    hybrid = tree(site)
    _killed_at(site, count, MigrateRequest("bob", "link"))
    assert rollback_user(site, "bob", dry_run=False).status == "rolled-back"
    assert tree(site) == hybrid
    assert layouts.layout_of(site, "bob") == "hybrid" and _layout(site) == "hybrid"


def test_a_difference_fails_verify_and_keeps_the_registry(site):
    def tamper(change, outcome):
        if change.summary.startswith("move") and ".bashrc" in change.summary:
            (site.users_dir / "bob" / "proj" / "a" / "w.bin").write_bytes(b"changed")

    report = migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False, on_change=tamper)
    assert report.status == "failed"
    assert report.verify["changed"] == 1 and "proj/a/w.bin" in report.verify["samples"]
    assert "--rollback" in report.error
    assert _layout(site) == "link"
    assert load_journal(site, "bob").state == "failed"


def test_refuses_while_the_user_runs_processes_unless_forced(site, monkeypatch):
    monkeypatch.setattr(activity, "user_processes", lambda uid: ["python train.py"])
    with pytest.raises(RefusedError, match="--force"):
        migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False)
    assert os.path.islink(layouts.ssd_home("bob"))
    forced = migrate_user(site, MigrateRequest("bob", "hybrid", force=True), dry_run=False)
    assert forced.status == "migrated"


def test_a_dotfile_in_both_places_is_refused_before_anything_moves(site):
    folder = site.users_dir / "bob" / "dotfiles"
    folder.mkdir()
    (folder / ".bashrc").write_text("other\n")
    before = tree(site)
    with pytest.raises(RefusedError, match=r"\.bashrc"):
        migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False)
    assert tree(site) == before


def test_all_reports_each_user_and_goes_on_after_a_failure(site, monkeypatch):
    with open_registry(site.registry_path) as registry:
        registry.upsert(RegistryEntry(name="carl", uid=UID + 1, gid=UID + 1, primary_group="c"))
    users = {
        "bob": UserInfo("bob", UID, UID, "", "/home/bob", "/bin/bash"),
        "carl": UserInfo("carl", UID + 1, UID + 1, "", "/home/carl", "/bin/bash"),
    }
    monkeypatch.setattr(accounts, "user_by_name", users.get)
    reports = migrate_all(site, "hybrid", dry_run=False)
    assert [(r.name, r.status) for r in reports] == [("bob", "migrated"), ("carl", "failed")]
    assert "neither layout" in reports[1].error


def test_rolling_back_a_verified_migration_keeps_what_the_user_changed_since(site):
    migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False)
    (layouts.ssd_home("bob") / ".bashrc").write_text("alias la='ls -a'\n")  # through the link
    undone = rollback_user(site, "bob", dry_run=False)
    assert undone.status == "rolled-back", undone.error
    assert (site.users_dir / "bob" / ".bashrc").read_text() == "alias la='ls -a'\n"
    assert os.readlink(layouts.ssd_home("bob")) == str(site.users_dir / "bob")
    assert not (site.users_dir / "bob" / "conda").exists()  # made by the layout, empty


def test_a_rollback_after_a_failed_verify_restores_the_layout_and_still_says_what_differs(site):
    def tamper(change, outcome):
        if ".bashrc" in change.summary and change.summary.startswith("move"):
            (site.users_dir / "bob" / "proj" / "a" / "w.bin").write_bytes(b"changed")

    migrate_user(site, MigrateRequest("bob", "hybrid"), dry_run=False, on_change=tamper)
    undone = rollback_user(site, "bob", dry_run=False)
    assert undone.status == "failed" and undone.verify["layout_ok"]
    assert undone.verify["samples"] == ["proj/a/w.bin"]
    assert load_journal(site, "bob").state == "rolled-back"
    assert layouts.layout_of(site, "bob") == "link" and _layout(site) == "link"
    assert prepare(site, MigrateRequest("bob", "hybrid")).resumed is False


def test_refuses_hybrid_where_sshd_would_refuse_the_linked_keys(site, monkeypatch):
    monkeypatch.setattr(layouts, "ssh_chain_problem", lambda cfg: "/data is 3775")
    with pytest.raises(RefusedError, match="/data is 3775"):
        prepare(site, MigrateRequest("bob", "hybrid"))
    assert prepare(site, MigrateRequest("bob", "link")) is None


def test_a_dotfiles_folder_swapped_for_a_link_is_refused_never_written_through(site, tmp_path):
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    folder = site.users_dir / "bob" / "dotfiles"
    folder.symlink_to(elsewhere)  # planted after the plan was made
    with pytest.raises(DatakeeperError):
        migrate_steps.rename_nofollow(site.users_dir / "bob" / ".bashrc", folder / ".bashrc")
    assert list(elsewhere.iterdir()) == []
    assert (site.users_dir / "bob" / ".bashrc").is_file()
