"""``datakeeper env`` pieces and ``datakeeper guide``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from datakeeper.cli import app as app_module
from datakeeper.cli import env_cmd
from datakeeper.cli.argv import GlobalOptionsGroup
from datakeeper.config import parse_config
from datakeeper.errors import InvalidInputError
from datakeeper.features import envinfo, guides
from datakeeper.features.envinfo import (
    EnvInfo,
    current_umask,
    expand_home,
    home_location,
    site_variables,
    writable_for_me,
)


def site(root: Path, extra: str = ""):
    text = (
        f'[storage]\ndata_root = "{root}"\nbackup_root = ""\n\n'
        f"[conda]\nenabled = false\n\n[uv]\nenabled = false\n{extra}"
    )
    return parse_config(text, "test.toml")


def test_umask_is_read_without_changing_it():
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
    finally:
        os.umask(old)


def test_umask_unknown_without_proc(tmp_path):
    assert current_umask(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("value", "expanded"),
    [
        ("$HOME/conda/envs", "/home/al/conda/envs"),
        ("${HOME}/x", "/home/al/x"),
        ("$HOMEWORK/x", "$HOMEWORK/x"),
        ("/data/models", "/data/models"),
    ],
)
def test_home_is_expanded_like_the_login_shell(value, expanded):
    assert expand_home(value, "/home/al") == expanded


def test_writable_for_me_looks_at_the_nearest_existing_folder(tmp_path):
    assert writable_for_me(tmp_path)
    assert writable_for_me(tmp_path / "not" / "yet")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_not_writable_for_me(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert not writable_for_me(locked / "child")


def test_variables_are_checked_against_the_session(tmp_path):
    cfg = site(tmp_path)
    (tmp_path / "models/huggingface").mkdir(parents=True)
    environ = {"HF_HOME": f"{tmp_path}/models/huggingface", "TORCH_HOME": "/elsewhere"}
    found = {v.name: v for v in site_variables(cfg, "/home/al", environ)}
    assert found["HF_HOME"].set_right and found["HF_HOME"].exists
    assert not found["TORCH_HOME"].set_right and not found["TORCH_HOME"].exists
    assert found["CONDA_ENVS_PATH"].expected == "/home/al/conda/envs"
    assert found["CONDA_ENVS_PATH"].scope == "personal"
    assert found["FLUX_HOME"].actual is None


def test_home_location_resolves_the_link(tmp_path):
    real = tmp_path / "data" / "users" / "al"
    real.mkdir(parents=True)
    os.symlink(real, tmp_path / "al")
    assert home_location(str(tmp_path / "al"), [tmp_path / "data"]) == (str(real), True)
    assert home_location(str(tmp_path / "al"), [Path("/backup")]) == (str(real), False)


def _info(tmp_path, **changes) -> EnvInfo:
    values = dict(
        user="al", uid=40001, groups=["al", "gpu-users"], site_group="gpu-users", member=True,
        umask=0o002, wanted_umask=0o002, home="/home/al", home_real=f"{tmp_path}/users/al",
        home_on_storage=True, variables=[], tools={}, disks=[],
    )  # fmt: skip
    values.update(changes)
    return EnvInfo(**values)


def test_no_warnings_when_all_is_right(tmp_path):
    info = _info(tmp_path)
    assert info.umask_ok is True
    assert envinfo.warnings(info, site(tmp_path)) == []


def test_wrong_umask_of_a_member_is_explained(tmp_path):
    info = _info(tmp_path, umask=0o022)
    assert info.umask_ok is False
    [warning] = envinfo.warnings(info, site(tmp_path))
    assert "022" in warning and "002" in warning


def test_umask_of_a_non_member_is_not_judged(tmp_path):
    info = _info(tmp_path, member=False, umask=0o077)
    assert info.umask_ok is None
    [warning] = envinfo.warnings(info, site(tmp_path))
    assert "not in the group gpu-users" in warning


def test_a_member_added_after_login_is_told_to_log_in_again(tmp_path):
    info = _info(tmp_path, groups=["al"])
    [warning] = envinfo.warnings(info, site(tmp_path))
    assert "log out and in again" in warning


def test_home_on_the_ssd_is_a_warning_except_in_the_hybrid_layout(tmp_path):
    info = _info(tmp_path, home_on_storage=False, home_real="/home/al")
    [warning] = envinfo.warnings(info, site(tmp_path))
    assert "wiped" in warning
    hybrid = site(tmp_path, '\n[home]\nlayout = "hybrid"\n')
    assert envinfo.warnings(info, hybrid) == []


def test_gather_describes_this_process(tmp_path):
    info = envinfo.gather(site(tmp_path), environ={"HOME": "/root"})
    assert info.uid == os.getuid()
    assert info.umask == current_umask()
    assert [d.root for d in info.disks] == [tmp_path]
    data = info.as_dict()
    assert set(data["tools"]) == {"conda", "uv"}
    assert re.fullmatch(r"[0-7]{3}", data["wanted_umask"])
    json.dumps(data)


# -- guides --


@pytest.mark.parametrize("topic", [None, "conda"])
def test_guides_are_filled_in(tmp_path, topic):
    sections = guides.guide(site(tmp_path), topic)
    text = " ".join(p for s in sections for p in (s.title, *s.paragraphs))
    assert "{" not in text and "}" not in text
    assert str(tmp_path) in text


def test_general_guide_says_what_is_wiped(tmp_path):
    titles = [s.title for s in guides.guide(site(tmp_path))]
    assert "What is wiped at reboot" in titles


def test_unknown_guide_topic_is_invalid(tmp_path):
    with pytest.raises(InvalidInputError, match="conda"):
        guides.guide(site(tmp_path), "spark")


def _app() -> typer.Typer:
    root = typer.Typer(cls=GlobalOptionsGroup)
    root.callback()(app_module.root)
    root.command("env")(env_cmd.env)
    root.command("guide")(env_cmd.guide)
    return root


def test_cli_env_and_guide(tmp_path):
    config = tmp_path / "site.toml"
    config.write_text(f'[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n')
    runner = CliRunner()
    result = runner.invoke(_app(), ["--config", str(config), "env", "--json"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.output)
    assert result.exit_code == (1 if data["warnings"] else 0)
    guide = runner.invoke(_app(), ["--config", str(config), "guide", "conda"])
    assert guide.exit_code == 0 and "conda create" in guide.output
