"""The environment files: shared caches for members only, never for root (issue 11, item 5)."""

from __future__ import annotations

import subprocess

import pytest

from datakeeper.config import SiteConfig
from datakeeper.features.setup.envfiles import global_envs_script, member_condarc, system_condarc

SHARED = ("HF_HOME", "TORCH_HOME", "CONDA_PKGS_DIRS", "HF_HUB_CACHE", "HF_TOKEN_PATH")


def _env_after_sourcing(script: bytes, uid: int, groups: str) -> dict[str, str]:
    """The variables and umask a POSIX shell has after sourcing ``script`` as someone else."""
    fake_id = f'id() {{ if [ "$1" = -u ]; then echo {uid}; else echo "{groups}"; fi; }}\n'
    shell = "umask 022\n" + fake_id + script.decode() + "env; echo UMASK=$(umask)\n"
    out = subprocess.run(
        ["sh", "-c", shell], capture_output=True, text=True, check=True, env={"HOME": "/h/me"}
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.mark.parametrize(
    ("uid", "groups"), [(0, "root"), (0, "root gpu-users"), (1001, "carol users")]
)
def test_root_and_non_members_get_no_shared_cache_variables(uid, groups):
    env = _env_after_sourcing(global_envs_script(SiteConfig(group="gpu-users")), uid, groups)
    assert not [name for name in SHARED if name in env]
    assert env["UMASK"] == "0022"  # root's and outsiders' umask is left alone
    assert env["CONDA_ENVS_PATH"] == "/h/me/conda/envs"  # personal folders for everyone


def test_members_get_the_shared_caches_and_the_group_umask():
    script = global_envs_script(SiteConfig(group="gpu-users"))
    env = _env_after_sourcing(script, 1002, "alice gpu-users")
    assert env["HF_HOME"] == "/data/models/huggingface"
    assert env["CONDA_PKGS_DIRS"] == "/data/cache/conda/pkgs"
    assert env["TORCH_HOME"] == "/data/models/torch"
    assert env["UMASK"] == "0002"
    # huggingface_hub's login token would otherwise land in the shared HF_HOME
    assert env["HF_TOKEN_PATH"] == "/h/me/.cache/huggingface/token"


def test_a_group_whose_name_is_a_prefix_of_another_does_not_match():
    env = _env_after_sourcing(global_envs_script(SiteConfig(group="gpu")), 1002, "gpu-users")
    assert "HF_HOME" not in env


def test_system_condarc_gives_no_shared_package_cache():
    text = system_condarc(SiteConfig()).decode()
    assert "pkgs_dirs" not in text and "/data/cache" not in text
    assert "envs_dirs:\n  - ~/conda/envs\n" in text


def test_member_condarc_shares_the_package_cache():
    text = member_condarc(SiteConfig()).decode()
    assert "pkgs_dirs:\n  - /data/cache/conda/pkgs\n" in text
    assert "envs_dirs:\n  - ~/conda/envs\n" in text
