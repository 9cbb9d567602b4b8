"""Home layouts (issue 16): the resources of a link or hybrid home, the layout read back
from disk, and what ``check``, ``env``, ``guide`` and ``user add`` say about them."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.engine import Executor
from datakeeper.errors import ConfigError, ConflictError, InvalidInputError
from datakeeper.features import envinfo, guides
from datakeeper.features.check.homes import layout_drift
from datakeeper.features.envinfo import EnvInfo
from datakeeper.features.recovery.recover import user_step
from datakeeper.features.users import layouts
from datakeeper.features.users.add import AddRequest, add_user
from datakeeper.features.users.layouts import (
    broken_links,
    home_resources,
    hybrid_links,
    kept_folders,
    layout_of,
    ssh_chain_problem,
)
from datakeeper.registry import RegistryEntry
from datakeeper.resources import Symlink
from datakeeper.resources.home import HomeDirectory, HomeMigration
from datakeeper.resources.home_folder import FolderInHome
from datakeeper.resources.home_link import HomeLink

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
DOTFILES = (".bashrc", ".zshrc", ".zshenv", ".profile", ".condarc", ".hpcrc", ".gitconfig")
DOTFILES += (".vimrc", ".tmux.conf", ".ssh", ".oh-my-zsh")


def site(root: Path, extra: str = ""):
    text = f'[storage]\ndata_root = "{root}/data"\nbackup_root = ""\n{extra}'
    return parse_config(text, "test.toml")


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """A site under ``tmp_path`` whose /home is ``tmp_path/home``; homes belong to me."""
    monkeypatch.setattr(layouts, "HOME_ROOT", tmp_path / "home")
    (tmp_path / "home").mkdir()
    (tmp_path / "data/users").mkdir(parents=True)
    return site(tmp_path)


def build(cfg, layout: str = "hybrid") -> list:
    resources = home_resources(cfg, ME, layout, primary_group=MY_GROUP)
    Executor().converge(resources)
    return resources


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_link_layout_is_the_home_user_add_always_made(cfg, tmp_path):
    persistent, ssd = tmp_path / "data/users" / ME, tmp_path / "home" / ME
    assert home_resources(cfg, ME, "link", primary_group=MY_GROUP) == [
        HomeDirectory(persistent, ME, MY_GROUP, 0o750),
        HomeMigration(ssd, persistent),
        Symlink(ssd, persistent),
    ]
    build(cfg, "link")
    assert layout_of(cfg, ME) == "link"


def test_a_hybrid_home_is_an_ssd_folder_with_data_conda_and_every_dotfile_linked(cfg, tmp_path):
    build(cfg)
    ssd, persistent = tmp_path / "home" / ME, tmp_path / "data/users" / ME
    assert stat.S_ISDIR(os.lstat(ssd).st_mode) and mode(ssd) == 0o750
    assert mode(persistent / "dotfiles") == 0o700
    assert mode(persistent / "dotfiles/.ssh") == 0o700
    assert (persistent / "conda").is_dir()  # CONDA_ENVS_PATH=$HOME/conda/envs is kept
    assert os.readlink(ssd / "data") == str(persistent)
    assert os.readlink(ssd / "conda") == str(persistent / "conda")
    for name in DOTFILES:
        assert os.readlink(ssd / name) == str(persistent / "dotfiles" / name)
    assert os.lstat(ssd / ".bashrc").st_uid == os.getuid()
    assert sorted(os.listdir(ssd)) == sorted(["data", "conda", *DOTFILES])
    assert layout_of(cfg, ME) == "hybrid"
    again = Executor(dry_run=True).converge(
        home_resources(cfg, ME, "hybrid", primary_group=MY_GROUP)
    )
    assert again.planned == []


def test_relative_links_count_as_much_as_absolute_ones(cfg, tmp_path):
    build(cfg)
    ssd = tmp_path / "home" / ME
    os.unlink(ssd / "data")
    os.symlink(f"../../data/users/{ME}", ssd / "data")
    assert layout_of(cfg, ME) == "hybrid"


def test_a_missing_or_wrong_link_is_named_and_put_back_without_following_it(cfg, tmp_path):
    build(cfg)
    ssd = tmp_path / "home" / ME
    os.unlink(ssd / ".vimrc")
    os.unlink(ssd / "data")
    os.symlink("/etc", ssd / "data")
    assert layout_of(cfg, ME) is None
    assert broken_links(cfg, ME) == ["data", ".vimrc"]
    changes = Executor().converge(home_resources(cfg, ME, "hybrid", primary_group=MY_GROUP))
    assert [c.summary for c in changes.applied] == [
        f"relink {ssd}/data: /etc -> {tmp_path}/data/users/{ME}",
        f"link {ssd}/.vimrc -> {tmp_path}/data/users/{ME}/dotfiles/.vimrc",
    ]
    assert layout_of(cfg, ME) == "hybrid"


def test_a_real_file_where_a_link_belongs_is_a_conflict_and_stays(cfg, tmp_path):
    build(cfg)
    bashrc = tmp_path / "home" / ME / ".bashrc"
    os.unlink(bashrc)
    bashrc.write_text("mine\n")
    link = HomeLink(bashrc.parent, ".bashrc", tmp_path / "x", ME, MY_GROUP)
    with pytest.raises(ConflictError, match=r"\.bashrc exists and is not a symlink"):
        link.plan()
    assert bashrc.read_text() == "mine\n"
    assert broken_links(cfg, ME) == [".bashrc"]


def test_a_home_swapped_for_a_link_is_never_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "home").symlink_to(elsewhere)
    [change] = HomeLink(tmp_path / "home", "data", tmp_path / "t", ME, MY_GROUP).plan()
    with pytest.raises(OSError):
        change.action()
    assert os.listdir(elsewhere) == []


def test_no_home_or_a_link_elsewhere_is_no_layout(cfg, tmp_path):
    assert layout_of(cfg, ME) is None
    (tmp_path / "home" / ME).symlink_to("/etc")
    assert layout_of(cfg, ME) is None


def test_kept_folders_come_from_the_personal_variables(tmp_path):
    assert kept_folders(site(tmp_path)) == ("conda",)
    personal = '\n[env.personal]\nWORK = "${HOME}/work/x"\nABS = "/scratch/$USER"\n'
    assert kept_folders(site(tmp_path, personal)) == ("work",)
    links = hybrid_links(site(tmp_path, personal), "al")
    assert links["work"] == tmp_path / "data/users/al/work"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("../x", 'must be a plain name in the home, like ".bashrc" (no "/", not "..")'),
        (".config/x", 'must be a plain name in the home, like ".bashrc" (no "/", not "..")'),
        ("data", "is a link the hybrid layout makes itself; remove it from the list"),
        ("a b", 'may only contain letters, digits, ".", "_", "-", "+" and "@"'),
    ],
)
def test_dotfiles_are_plain_names(tmp_path, entry, reason):
    with pytest.raises(ConfigError) as error:
        site(tmp_path, f'\n[home]\ndotfiles = [".bashrc", "{entry}"]\n')
    assert reason in str(error.value)
    assert "home.dotfiles" in str(error.value)


def test_sshd_would_refuse_keys_below_a_group_writable_folder(tmp_path):
    (tmp_path / "data/users").mkdir(parents=True)
    os.chmod(tmp_path / "data/users", 0o2775)  # noqa: S103 - the mode under test
    problem = ssh_chain_problem(site(tmp_path))
    assert f"{tmp_path}/data/users is 2775" in problem
    assert 'storage.root_mode = "3755"' in problem
    assert ssh_chain_problem(site(tmp_path, '\n[home]\ndotfiles = [".bashrc"]\n')) is None


def test_check_names_the_drift_and_the_command_that_fixes_it(cfg, tmp_path):
    entry = RegistryEntry(name=ME, uid=4000, gid=4000, primary_group=ME, home_layout="hybrid")
    assert layout_drift(cfg, entry, "link") == (
        f"recorded as hybrid, but the home is link: run 'datakeeper user migrate {ME} --to hybrid'"
    )
    build(cfg)
    os.unlink(tmp_path / "home" / ME / ".ssh")
    assert layout_drift(cfg, entry, None) == (
        "hybrid home incomplete: missing or wrong links: .ssh; 'sudo datakeeper recover' makes them"
    )


def test_recover_rebuilds_the_recorded_layout(cfg, tmp_path):
    hybrid = RegistryEntry(
        name="hana", uid=4000, gid=4000, primary_group="hana", home_layout="hybrid"
    )
    kinds = [type(r).__name__ for r in user_step(cfg, hybrid).resources]
    assert kinds[:2] == ["Group", "UserAccount"]
    assert kinds.count("HomeLink") == len(DOTFILES) + 2  # data, conda
    linked = RegistryEntry(name="lee", uid=4001, gid=4001, primary_group="lee")
    assert user_step(cfg, linked).resources[2:] == home_resources(
        cfg, "lee", "link", primary_group="lee"
    )


def test_an_unknown_layout_is_refused_before_anything(cfg):
    with pytest.raises(InvalidInputError, match="home layout copy: pick one of: link, hybrid"):
        add_user(cfg, AddRequest("zed", layout="copy"), dry_run=True)


def _info(**changes) -> EnvInfo:
    values = dict(
        user="al", uid=40001, groups=["al", "gpu-users"], site_group="gpu-users", member=True,
        umask=0o002, wanted_umask=0o002, home="/home/al", home_real="/home/al",
        home_on_storage=False, variables=[], tools={}, disks=[],
    )  # fmt: skip
    values.update(changes)
    return EnvInfo(**values)


def test_env_says_what_a_hybrid_home_keeps_and_what_it_does_not(tmp_path):
    cfg = site(tmp_path)
    notes = " ".join(envinfo.layout_notes(cfg, _info(home_layout="hybrid")))
    assert "wiped at every reboot" in notes
    assert f"~/data ({tmp_path}/data/users/al), ~/conda" in notes
    assert ".bashrc, .zshrc" in notes and f"{tmp_path}/data/users/al/dotfiles" in notes
    assert "~/.cache" in notes and "XDG_CACHE_HOME, pip and uv" in notes
    assert envinfo.layout_notes(cfg, _info(home_layout="link")) == []
    quiet = site(tmp_path, '\n[home]\ndotfiles = [".bashrc"]\n')
    assert envinfo.warnings(_info(home_layout="hybrid"), quiet) == []
    [warning] = envinfo.warnings(_info(home_layout=None), quiet)
    assert "wiped" in warning


def test_the_guide_of_a_hybrid_site_explains_what_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(guides, "layout_of", lambda cfg, name: None)
    cfg = site(tmp_path, '\n[home]\nlayout = "hybrid"\n')
    text = " ".join(p for s in guides.general(cfg) for p in s.paragraphs)
    assert "Your dotfiles (.bashrc" in text and ", ~/conda are links to the data disk" in text
    assert "~/.cache, where XDG_CACHE_HOME, pip and uv keep their caches" in text


def test_ssh_in_a_dotfiles_folder_swapped_for_a_link_is_never_made_elsewhere(tmp_path):
    target = tmp_path / "root-only"
    target.mkdir()
    (tmp_path / "dotfiles").symlink_to(target)
    [change] = FolderInHome(tmp_path / "dotfiles", ".ssh", ME, MY_GROUP, 0o700).plan()
    with pytest.raises(OSError):
        change.action()
    assert os.listdir(target) == []
    (tmp_path / "theirs").mkdir()
    [change] = FolderInHome(tmp_path / "theirs", ".ssh", "nobody", "nogroup", 0o700).plan()
    with pytest.raises(ConflictError, match="is not nobody's folder; nothing is made in it"):
        change.action()
    assert os.listdir(tmp_path / "theirs") == []


def test_a_hybrid_site_gets_a_data_root_sshd_accepts_keys_below():
    """Hybrid homes keep ~/.ssh on /data: the default root mode drops group write so
    StrictModes accepts the keys; a mode the admin wrote is kept as written."""
    from datakeeper.config.schema import SiteConfig

    hybrid = SiteConfig.model_validate({"home": {"layout": "hybrid"}})
    assert hybrid.storage.root_mode == 0o3755
    chosen = SiteConfig.model_validate(
        {"home": {"layout": "hybrid"}, "storage": {"root_mode": "3775"}}
    )
    assert chosen.storage.root_mode == 0o3775
    assert SiteConfig.model_validate({}).storage.root_mode == 0o3775
