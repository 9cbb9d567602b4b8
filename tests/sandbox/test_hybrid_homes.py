"""Hybrid homes (issue 16): an SSD home with ``~/data`` and the dotfiles linked onto
``/data``, logged into through the real sshd (StrictModes on), rebuilt by ``recover``."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from tests.support.site_setup import NO_SOFTWARE, check_site, failed_checks
from tests.support.sshd import ssh_login, sshd_log, start_sshd

pytestmark = pytest.mark.sandbox

PERSISTENT = "/data/users/hana"
DOTFILES = f"{PERSISTENT}/dotfiles"
LINKED = (".bashrc", ".zshrc", ".zshenv", ".profile", ".condarc", ".hpcrc", ".gitconfig")
LINKED += (".vimrc", ".tmux.conf", ".ssh", ".oh-my-zsh")


@pytest.fixture
def site_config() -> str:
    """The data root without group write: sshd's StrictModes then accepts a linked ~/.ssh."""
    return NO_SOFTWARE + '\n[storage]\nroot_mode = "3755"\n'


def add_hybrid(server, name: str = "hana", *args: str) -> dict:
    """``user add NAME --layout hybrid --generate-key ed25519``: the handout."""
    argv = ("--json", "user", "add", name, "--layout", "hybrid", "--generate-key", "ed25519")
    return json.loads(server.datakeeper(*argv, *args).stdout)


def login(server, key: str, command: str):
    result = ssh_login(server, "hana", key, command)
    assert result.returncode == 0, f"{result.stderr}\n--- sshd log ---\n{sshd_log(server)}"
    return result.stdout


def home_tree(server, name: str = "hana") -> dict[str, tuple]:
    """Every entry of /home/NAME and of its dotfiles folder: type, mode, owner, link text."""
    found = {}
    for top in (f"/home/{name}", f"/data/users/{name}/dotfiles"):
        for folder, dirs, files in os.walk(server.path(top)):
            for entry in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                info = os.lstat(entry)
                link = os.readlink(entry) if stat.S_ISLNK(info.st_mode) else None
                inside = "/" + os.path.relpath(entry, server.path("/"))
                found[inside] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode),
                                 info.st_uid, info.st_gid, link)  # fmt: skip
    return found


def test_a_hybrid_user_logs_in_with_home_on_the_ssd_data_and_dotfiles_linked(site):
    before = site.snapshot()
    dry = site.datakeeper("--json", "--dry-run", "user", "add", "hana", "--layout", "hybrid")
    planned = json.loads(dry.stdout)["planned"]
    assert "link /home/hana/data -> /data/users/hana" in planned
    assert "link /home/hana/.ssh -> /data/users/hana/dotfiles/.ssh" in planned
    assert site.snapshot() == before
    sheet = add_hybrid(site)
    home = os.lstat(site.path("/home/hana"))
    assert stat.S_ISDIR(home.st_mode) and stat.S_IMODE(home.st_mode) == 0o750
    assert home.st_uid == sheet["uid"]
    assert os.readlink(site.path("/home/hana/data")) == PERSISTENT
    for name in LINKED:
        assert os.readlink(site.path(f"/home/hana/{name}")) == f"{DOTFILES}/{name}"
    assert stat.S_IMODE(os.lstat(site.path(f"{DOTFILES}/.ssh")).st_mode) == 0o700
    entry = json.loads(site.path("/data/config/datakeeper/registry.json").read_text())
    assert entry["users"]["hana"]["home_layout"] == "hybrid"
    start_sshd(site)
    key = sheet["private_key_path"]
    script = (
        "echo $HOME; pwd -P; umask; echo work > ~/data/run.txt; cat /data/users/hana/run.txt; "
        "echo \"alias hi='echo hello'\" >> ~/.bashrc"
    )
    lines = login(site, key, script).splitlines()
    assert lines == ["/home/hana", "/home/hana", "0002", "work"]
    assert "alias hi=" in site.path(f"{DOTFILES}/.bashrc").read_text()
    assert login(site, key, "bash -ic hi 2>/dev/null").strip() == "hello"
    assert any("keep your work under ~/data" in line for line in sheet["text"])
    # user set: a key added lands in the dotfiles' .ssh, the registry keeps the layout
    site.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/root/second"])
    site.datakeeper("user", "set", "hana", "--add-key", "/root/second.pub")
    assert login(site, "/root/second", "id -un").strip() == "hana"
    entry = json.loads(site.path("/data/config/datakeeper/registry.json").read_text())
    assert entry["users"]["hana"]["home_layout"] == "hybrid"
    assert len(entry["users"]["hana"]["ssh_key_fingerprints"]) == 2
    argv = [sys.executable, "-m", "datakeeper", "--json", "env"]
    env = json.loads(site.run(argv, user="hana", login=True, check=False).stdout)
    assert env["home_layout"] == "hybrid" and env["warnings"] == [], env["warnings"]
    assert "XDG_CACHE_HOME, pip and uv" in " ".join(env["layout_notes"])
    guide = site.run([sys.executable, "-m", "datakeeper", "guide"], user="hana", login=True)
    assert "Your dotfiles (.bashrc" in guide.stdout.replace("\n", " ")
    _code, report = check_site(site)
    assert [r for r in report["results"] if r["group"] == "HOMES" and "hana" in r["subject"]] == [
        {"group": "HOMES", "subject": "home of hana (hybrid)", "status": "PASS", "detail": ""}
    ]


def test_wipe_and_recover_rebuild_the_hybrid_home_identically_before_logins(site):
    sheet = add_hybrid(site)
    start_sshd(site)
    key = sheet["private_key_path"]
    login(site, key, "echo \"alias hi='echo hello'\" >> ~/.bashrc; echo scratch > ~/tmp.txt")
    before = home_tree(site)
    assert "/home/hana/tmp.txt" in before
    site.datakeeper("recovery", "sync-passwords", check=False)
    site.reboot()
    assert not site.path("/home/hana").exists()
    report = json.loads(site.datakeeper("--json", "recover").stdout)
    assert report["ok"], report
    after = home_tree(site)
    del before["/home/hana/tmp.txt"]  # the SSD home is scratch: wiped by design
    assert after == before
    start_sshd(site)
    assert login(site, key, "echo $HOME; bash -ic hi 2>/dev/null").split() == [
        "/home/hana",
        "hello",
    ]
    again = json.loads(site.datakeeper("--json", "recover", "--dry-run").stdout)
    assert [u["changes"] for u in again["users"] if u["title"] == "hana"] == [[]]


def test_recover_keeps_a_hybrid_home_left_on_an_ssd_that_was_not_wiped(site):
    add_hybrid(site)
    site.run(["sh", "-c", "echo cache > ~/scratch.bin"], user="hana")
    inode = os.lstat(site.path("/home/hana")).st_ino
    report = json.loads(site.datakeeper("--json", "recover").stdout)
    assert report["ok"], report
    assert os.lstat(site.path("/home/hana")).st_ino == inode
    assert site.path("/home/hana/scratch.bin").read_text() == "cache\n"


def test_a_planted_link_is_replaced_without_following_it_and_a_real_file_is_kept(site):
    add_hybrid(site)
    etc = {name: os.lstat(site.path(f"/etc/{name}")) for name in ("passwd", "shadow")}
    site.run(["sh", "-c", "ln -sfn /etc ~/data; rm ~/.vimrc; echo mine > ~/.vimrc"], user="hana")
    result = site.datakeeper("--json", "recover", check=False)
    assert result.returncode == 1
    [hana] = [u for u in json.loads(result.stdout)["users"] if u["title"] == "hana"]
    assert "/home/hana/.vimrc exists and is not a symlink" in " ".join(hana["errors"])
    assert os.readlink(site.path("/home/hana/data")) == PERSISTENT
    assert site.path("/home/hana/.vimrc").read_text() == "mine\n"
    assert {n: os.lstat(site.path(f"/etc/{n}")) for n in etc} == etc
    _code, report = check_site(site)
    [line] = [r for r in failed_checks(report) if r["group"] == "HOMES"]
    assert line["subject"] == "home of hana (hybrid)"
    assert "missing or wrong links: .vimrc;" in line["detail"]


def test_a_data_root_group_can_write_refuses_hybrid_homes_before_any_change(server):
    from tests.support.site_setup import init_site, prepare_site

    prepare_site(server)
    assert json.loads(init_site(server).stdout)["ok"]
    before = server.snapshot()
    result = server.datakeeper("user", "add", "hana", "--layout", "hybrid", check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "sshd's StrictModes refuses SSH keys" in result.stderr
    assert "/data is 3775" in result.stderr and 'storage.root_mode = "3755"' in result.stderr
    assert server.snapshot() == before
