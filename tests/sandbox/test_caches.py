"""Cache cleanup in a real server: members through sudo, root in-process, links planted."""

from __future__ import annotations

import json
import sys

import pytest

from tests.sandbox.test_init import _init, _prepare
from tests.support.sandbox import PROJECT_ROOT

pytestmark = pytest.mark.sandbox

HUB = "/data/models/huggingface/hub"
TORCH = "/data/models/torch/hub"
PKGS = "/data/cache/conda/pkgs"
HELPER = "/usr/local/sbin/datakeeper-helper"
INSIDE = {"PYTHONPATH": str(PROJECT_ROOT)}


@pytest.fixture
def site(server):
    """An initialized site; alice is a member, bob is a member with private files."""
    _prepare(server)
    _init(server)
    for name in ("alice", "bob"):
        server.run(["useradd", "--create-home", "--groups", "gpu-users", name])
    server.run(["chmod", "0700", "/home/bob"])
    secret = "echo bob-only > /home/bob/secret; chmod 600 /home/bob/secret"
    server.run(["sh", "-c", secret], user="bob")
    return server


def _python(server, code: str, *, user: str | None = None) -> str:
    return server.run([sys.executable, "-c", code], user=user, env=INSIDE).stdout


def _plant(server, hub: str, user: str) -> None:
    code = f"from tests.unit.test_caches_hf import Path, plant; plant(Path({hub!r}))"
    _python(server, code, user=user)


def _tree(server, root: str) -> set[str]:
    code = (
        "import json; from tests.unit.test_caches_hf import Path, tree; "
        f"print(json.dumps(sorted(tree(Path({root!r})))))"
    )
    return set(json.loads(_python(server, code)))


def _expected(server, days: int) -> set[str]:
    code = (
        "import json, time; from pathlib import Path; "
        "from tests.unit.test_caches_hf import expected_after; "
        f"print(json.dumps(sorted(expected_after(Path({HUB!r}), {days}, time.time()))))"
    )
    return set(json.loads(_python(server, code)))


def _protected(server) -> dict[str, str]:
    """What no cleanup may touch: /etc/shadow and bob's private file (mode, owner, content)."""
    paths = ("/etc/shadow", "/home/bob/secret", "/etc")
    stat = server.run(["stat", "-c", "%n %a %U %G", *paths]).stdout
    digest = server.run(["sha256sum", "/etc/shadow", "/home/bob/secret"]).stdout
    return {"stat": stat, "digest": digest}


def test_member_cleans_the_hf_cache_through_sudo_exactly_as_the_scan_says(site):
    _plant(site, HUB, "alice")
    expected = _expected(site, 30)
    assert expected != _tree(site, HUB)  # something is old enough to go
    result = site.datakeeper("cache", "clean", "--hf", "--yes", user="alice", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sudo helper" in result.stdout
    assert _tree(site, HUB) == expected
    again = site.datakeeper("--json", "cache", "clean", "--hf", "--yes", user="alice")
    assert json.loads(again.stdout)["caches"][0]["status"] == "nothing"


def test_root_cleans_the_hf_cache_with_huggingface_hub_exactly_as_the_scan_says(site):
    _plant(site, HUB, "alice")
    expected = _expected(site, 90 - 1)
    result = site.datakeeper("--json", "cache", "clean", "--hf", "--older-than", "89d", "--yes")
    report = json.loads(result.stdout)["caches"][0]
    assert (report["method"], report["status"]) == ("huggingface_hub", "done")
    assert _tree(site, HUB) == expected


def test_member_cannot_pass_a_path_or_another_age_through_sudo(site):
    for argv in (
        [HELPER, "cache-clean", "/etc"],
        [HELPER, "cache-clean", "huggingface", "--older-than", "1d"],
        [HELPER, "cache-clean", "huggingface", "--older-than", "30d", "/etc"],
        [HELPER, "cache-clean", "huggingface", "--older-than=30d"],
        [HELPER, "cache-clean", "huggingface", f"{HUB}/../../../../etc"],
    ):
        refused = site.run(["sudo", "-n", *argv], user="alice", check=False)
        assert refused.returncode == 1, argv
        assert "a password is required" in refused.stderr
    result = site.datakeeper(
        "cache", "clean", "--hf", "--older-than", "14d", "--yes", user="alice", check=False
    )
    assert result.returncode == 2
    assert "7d, 30d, 90d" in result.stderr


def test_a_members_environment_does_not_choose_what_root_cleans(site):
    _plant(site, "/home/bob/hub", "bob")
    bobs = _tree(site, "/home/bob/hub")
    env = {**INSIDE, "HF_HUB_CACHE": "/home/bob/hub", "HF_HOME": "/home/bob"}
    result = site.run(
        [sys.executable, "-m", "datakeeper", "cache", "clean", "--hf", "--yes"],
        user="alice",
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _tree(site, "/home/bob/hub") == bobs


def test_planted_links_lead_no_cleanup_outside_the_caches(site):
    _plant(site, HUB, "alice")
    old_rev = f"{HUB}/models--org--bert/snapshots/" + _python(
        site, "from tests.unit.test_caches_hf import commit; print(commit('old'), end='')"
    )
    plant = (
        f"ln -s /etc/shadow {old_rev}/evil.bin; touch -h -d '100 days ago' {old_rev}/evil.bin; "
        f"ln -s /home/bob {HUB}/models--bob--home; "
        f"mkdir -p {TORCH}; ln -s /etc {TORCH}/checkpoints; ln -s /home/bob {TORCH}/bob_repo_main; "
        f"ln -s /etc/shadow {PKGS}/evil.tar.bz2; ln -s /home/bob/secret {PKGS}/bob.conda"
    )
    site.run(["sh", "-c", plant], user="alice")
    before = _protected(site)  # reads /etc/shadow: its atime moves, so age it after
    site.run(["touch", "-d", "100 days ago", "/etc/shadow", "/home/bob/secret"])
    kinds = ("--hf", "--torch", "--conda", "--older-than", "30d", "--yes")
    root = site.datakeeper("cache", "clean", *kinds, check=False)
    # huggingface_hub's scan takes /etc/shadow for a blob of the old revision; refused:
    assert root.returncode == 1
    assert "/etc/shadow: not where a blob belongs in the cache" in root.stdout
    member = site.datakeeper("cache", "clean", *kinds, user="alice", check=False)
    assert _protected(site) == before, member.stdout + root.stdout
    assert site.run(["test", "-L", f"{TORCH}/checkpoints"]).returncode == 0


def test_cache_list_shows_shared_and_personal_caches(site):
    _plant(site, HUB, "alice")
    pip = "mkdir -p ~/.cache/pip/http && echo x > ~/.cache/pip/http/a"
    site.run(["sh", "-c", pip], user="alice", login=True)
    rows = json.loads(site.datakeeper("--json", "cache", "list", user="alice").stdout)
    by_label = {row["label"]: row for row in rows}
    assert by_label["huggingface hub"]["path"] == HUB
    assert by_label["huggingface hub"]["files"] == 12  # blobs, refs, .incomplete, lock
    assert by_label["pip"]["path"] == "/home/alice/.cache/pip"
    assert by_label["pip"]["files"] == 1
    assert by_label["conda packages"]["exists"]
