"""`datakeeper env` and `datakeeper guide` as a researcher sees them on a set-up server."""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.site_setup import add_linked_member

pytestmark = pytest.mark.sandbox


@pytest.fixture
def site(site):
    """The initialized site; alice is a member whose home links into /data/users."""
    server = site
    add_linked_member(server, "alice", login_shell="/bin/bash")
    server.run(["useradd", "--create-home", "-s", "/bin/bash", "carol"])  # not a member
    return server


def env_of(server, user, *, login=True, check=True):
    argv = [sys.executable, "-m", "datakeeper", "--json", "env"]
    result = server.run(argv, user=user, login=login, check=False)
    if check:
        assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_member_in_a_login_shell_is_all_right(site):
    code, info = env_of(site, "alice")
    assert info["warnings"] == [], info["warnings"]
    assert code == 0
    assert info["user"] == "alice" and "gpu-users" in info["groups"]
    assert (info["umask"], info["umask_ok"]) == ("002", True)
    assert (info["home"], info["home_real"]) == ("/home/alice", "/data/users/alice")
    assert info["home_on_storage"] is True
    variables = {v["name"]: v for v in info["variables"]}
    assert variables["HF_HOME"]["expected"] == "/data/models/huggingface"
    assert variables["CONDA_ENVS_PATH"]["expected"] == "/home/alice/conda/envs"
    assert all(v["set_right"] for v in variables.values())
    shared = [v for v in variables.values() if v["scope"] == "shared"]
    assert all(v["exists"] and v["writable"] for v in shared), shared
    assert info["disks"][0]["root"] == "/data" and info["disks"][0]["free_bytes"] > 0


def test_outside_a_login_shell_the_missing_variables_are_explained(site):
    code, info = env_of(site, "alice", login=False)
    assert code == 1
    assert any("HF_HOME is not set" in w for w in info["warnings"])


def test_a_non_member_with_an_ssd_home_is_warned(site):
    code, info = env_of(site, "carol")
    assert code == 1
    assert info["home_on_storage"] is False
    assert info["umask_ok"] is None
    joined = " ".join(info["warnings"])
    assert "not in the group gpu-users" in joined and "wiped at every reboot" in joined


def test_guides_for_a_member(site):
    general = site.datakeeper("guide", user="alice").stdout
    assert "What is wiped at reboot" in general and "/data/users" in general
    conda = site.datakeeper("guide", "conda", user="alice").stdout
    assert "/data/cache/conda/pkgs" in conda
