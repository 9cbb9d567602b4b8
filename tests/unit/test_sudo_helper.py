"""The sudo helper (no root needed) and the sudo policy rendered from the site config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import ConflictError, InvalidInputError
from datakeeper.features.setup.sudo import (
    GrantingDropIn,
    HelperFile,
    render_helper_script,
    render_sudoers,
    sudo_resources,
)
from datakeeper.helper import main as helper
from datakeeper.managed import OwnedFilesManifest

OLD = time.time() - 3 * 86400


@pytest.fixture
def policy(tmp_path) -> dict:
    caches = {
        "conda": tmp_path / "cache/conda/pkgs",
        "huggingface": tmp_path / "hf/hub",
        "torch": tmp_path / "torch/hub",
    }
    for directory in caches.values():
        directory.mkdir(parents=True)
    return {
        "allow": ["cache-clean", "disk-usage"],
        "caches": {kind: str(path) for kind, path in caches.items()},
        "storage_roots": [str(tmp_path)],
        "min_age_days": 0,
    }


def _file(path: Path, data: bytes = b"x", mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# -- conda ----------------------------------------------------------------------


def test_conda_removes_tarballs_and_keeps_extracted_dirs_partials_and_locks(policy, capsys):
    pkgs = Path(policy["caches"]["conda"])
    _file(pkgs / "numpy-1.26-py311.tar.bz2", b"a" * 1000)
    _file(pkgs / "torch-2.1-py311.conda", b"b" * 24)
    _file(pkgs / "numpy-1.26-py311/info/index.json")
    _file(pkgs / "scipy-1.11.conda.partial")
    _file(pkgs / "scipy-1.11.tar.bz2.partial")
    _file(pkgs / "urls.txt")
    _file(pkgs / "cache/abc.json")
    _file(pkgs / "pkgs.lock")
    assert helper.main(["cache-clean", "conda"], policy) == 0
    assert _tree(pkgs) == {
        "numpy-1.26-py311",
        "numpy-1.26-py311/info",
        "numpy-1.26-py311/info/index.json",
        "scipy-1.11.conda.partial",
        "scipy-1.11.tar.bz2.partial",
        "urls.txt",
        "cache",
        "cache/abc.json",
        "pkgs.lock",
    }
    out = capsys.readouterr().out
    assert f"removed {pkgs}/numpy-1.26-py311.tar.bz2" in out
    assert "conda: removed 2 files, freed 1024 bytes (1.0 KiB)" in out


def test_conda_empties_the_trash(policy):
    pkgs = Path(policy["caches"]["conda"])
    _file(pkgs / ".trash/a.conda_trash")
    _file(pkgs / ".trash/old-pkg/lib/libx.so")
    assert helper.main(["cache-clean", "conda"], policy) == 0
    assert _tree(pkgs) == {".trash"}


def test_conda_honours_min_age_days(policy):
    pkgs = Path(policy["caches"]["conda"])
    _file(pkgs / "new.tar.bz2")
    _file(pkgs / "old.tar.bz2", mtime=OLD)
    assert helper.main(["cache-clean", "conda"], {**policy, "min_age_days": 2}) == 0
    assert _tree(pkgs) == {"new.tar.bz2"}


# -- huggingface and torch --------------------------------------------------------


def test_huggingface_removes_only_old_incomplete_blobs_and_locks(policy):
    hub = Path(policy["caches"]["huggingface"])
    repo = hub / "models--org--bert"
    _file(repo / "blobs/aaa.incomplete", mtime=OLD)
    _file(repo / "blobs/bbb.incomplete")  # a download in progress
    _file(repo / "blobs/ccc", mtime=OLD)
    _file(repo / "refs/main", mtime=OLD)
    (repo / "snapshots/123").mkdir(parents=True)
    (repo / "snapshots/123/config.json").symlink_to("../../blobs/ccc")
    _file(hub / "datasets--org--squad/blobs/ddd.incomplete", mtime=OLD)
    _file(hub / ".locks/models--org--bert/aaa.lock", mtime=OLD)
    _file(hub / ".locks/models--org--bert/bbb.lock")
    _file(hub / "version.txt", mtime=OLD)
    assert helper.main(["cache-clean", "huggingface"], policy) == 0
    gone = {
        "models--org--bert/blobs/aaa.incomplete",
        "datasets--org--squad/blobs/ddd.incomplete",
        ".locks/models--org--bert/aaa.lock",
    }
    assert not any((hub / name).exists() for name in gone)
    kept = ["blobs/bbb.incomplete", "blobs/ccc", "refs/main", "snapshots/123/config.json"]
    assert all((repo / name).exists() for name in kept)
    assert (hub / ".locks/models--org--bert/bbb.lock").exists()
    assert (hub / "version.txt").exists()


def test_torch_removes_only_old_partial_downloads(policy):
    checkpoints = Path(policy["caches"]["torch"]) / "checkpoints"
    _file(checkpoints / "resnet50-0676ba61.pth.1f2e3d.partial", mtime=OLD)
    _file(checkpoints / "tmpab_cd123", mtime=OLD)
    _file(checkpoints / "vit-b.pth.99.partial")  # in progress
    _file(checkpoints / "resnet50-0676ba61.pth", mtime=OLD)
    _file(checkpoints / "tmp_model_weights.pth", mtime=OLD)
    assert helper.main(["cache-clean", "torch"], policy) == 0
    assert _tree(checkpoints) == {
        "vit-b.pth.99.partial",
        "resnet50-0676ba61.pth",
        "tmp_model_weights.pth",
    }


def test_missing_cache_is_nothing_to_clean(policy, capsys):
    shutil.rmtree(policy["caches"]["torch"])
    assert helper.main(["cache-clean", "torch"], policy) == 0
    assert "nothing to clean" in capsys.readouterr().out


def test_names_are_printed_without_control_characters(policy, capsys):
    _file(Path(policy["caches"]["conda"]) / "evil\x1b[2J\n.conda")
    assert helper.main(["cache-clean", "conda"], policy) == 0
    out = capsys.readouterr().out
    assert "evil\\x1b[2J\\n.conda" in out  # the escape is shown, not sent
    assert "\x1b" not in out


# -- symlink attacks -----------------------------------------------------------------


def test_planted_file_symlinks_are_never_followed(policy, tmp_path):
    victim = _file(tmp_path / "victim", b"precious", mtime=OLD)
    pkgs = Path(policy["caches"]["conda"])
    (pkgs / "evil.tar.bz2").symlink_to(victim)
    (pkgs / ".trash").mkdir()
    (pkgs / ".trash/evil").symlink_to(victim)
    blobs = Path(policy["caches"]["huggingface"]) / "models--x/blobs"
    blobs.mkdir(parents=True)
    (blobs / "evil.incomplete").symlink_to(victim)
    os.utime(blobs / "evil.incomplete", (OLD, OLD), follow_symlinks=False)
    for argv in (["cache-clean", "conda"], ["cache-clean", "huggingface"]):
        assert helper.main(argv, policy) == 0
    assert victim.read_bytes() == b"precious"
    assert (pkgs / "evil.tar.bz2").is_symlink()


@pytest.mark.parametrize(
    ("kind", "link"),
    [
        ("huggingface", "models--x"),
        ("huggingface", "models--y/blobs"),
        ("huggingface", ".locks"),
        ("conda", ".trash"),
        ("torch", "checkpoints"),
    ],
)
def test_directory_symlinks_are_never_entered(policy, tmp_path, kind, link):
    outside = tmp_path / "outside"
    names = ["blobs/a.incomplete", "a.incomplete", "a.lock", "a.partial", "tmpabcdefgh", "x"]
    for name in names:
        _file(outside / name, mtime=OLD)
    planted = Path(policy["caches"][kind]) / link
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.symlink_to(outside, target_is_directory=True)
    assert helper.main(["cache-clean", kind], policy) == 0
    assert all((outside / name).exists() for name in names)


def test_cache_root_that_is_a_symlink_is_refused(policy, tmp_path, capsys):
    outside = tmp_path / "outside"
    _file(outside / "pkg.tar.bz2")
    link = tmp_path / "linked-pkgs"
    link.symlink_to(outside)
    via_parent = tmp_path / "linked-parent"
    via_parent.symlink_to(tmp_path / "cache")
    for root in (link, via_parent / "conda/pkgs"):
        assert (
            helper.main(["cache-clean", "conda"], {**policy, "caches": {"conda": str(root)}}) == 3
        )
        assert "symlink" in capsys.readouterr().err
    assert (outside / "pkg.tar.bz2").exists()


# -- what is refused --------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["cache-clean"],
        ["cache-clean", "pip"],
        ["cache-clean", "/etc"],
        ["cache-clean", "../conda"],
        ["cache-clean", "conda", "extra"],
        ["disk-usage", "/etc/shadow"],
        ["disk-usage", "--output=source"],
        ["rm", "-rf", "/"],
        ["--help"],
    ],
)
def test_anything_else_is_refused_with_exit_2(policy, capsys, argv):
    assert helper.main(argv, policy) == 2
    err = capsys.readouterr().err
    assert err.startswith("datakeeper-helper: refused: ")
    assert err.count("\n") == 1


def test_actions_the_site_does_not_allow_are_refused(policy):
    assert helper.main(["cache-clean", "conda"], {**policy, "allow": ["disk-usage"]}) == 2
    assert helper.main(["disk-usage"], {**policy, "allow": ["cache-clean"]}) == 2


def test_the_module_as_shipped_allows_nothing(capsys):
    assert helper.main(["disk-usage"]) == 2
    assert "this site allows no command" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists(helper.DF), reason="needs /usr/bin/df")
def test_disk_usage_runs_df_on_the_storage_roots(policy, tmp_path, capfd):
    missing = str(tmp_path / "absent")
    assert helper.main(["disk-usage"], {**policy, "storage_roots": [str(tmp_path), missing]}) == 0
    out = capfd.readouterr().out
    assert out.startswith("Filesystem")
    assert missing not in out


# -- rendering --------------------------------------------------------------------


def _config(tmp_path: Path, extra: str = ""):
    text = f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n{extra}'
    return parse_config(text, "test")


def test_rendered_helper_has_the_shebang_and_the_sites_values(tmp_path):
    script = render_helper_script(_config(tmp_path)).decode()
    assert script.startswith("#!/usr/bin/python3 -I\n")
    compile(script, "datakeeper-helper", "exec")
    assert f"'conda': '{tmp_path}/data/cache/conda/pkgs'" in script
    assert f"'huggingface': '{tmp_path}/data/models/huggingface/hub'" in script
    assert f"'torch': '{tmp_path}/data/models/torch/hub'" in script
    assert f"'storage_roots': ['{tmp_path}/data']" in script
    assert script.count("POLICY = {") == 1


def test_rendered_helper_runs_isolated_from_its_directory(tmp_path):
    cfg = _config(tmp_path)
    tarball = _file(tmp_path / "data/cache/conda/pkgs/numpy.tar.bz2")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "datakeeper-helper"
    script.write_bytes(render_helper_script(cfg))
    _file(bindir / "subprocess.py", b"raise SystemExit('hijacked')\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(bindir)}

    def run(*args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-I", str(script), *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)

    result = run("cache-clean", "conda")
    assert (result.returncode, result.stderr) == (0, "")
    assert not tarball.exists()
    assert run("cache-clean", "pip").returncode == 2
    assert run("cache-clean", "conda", "x").returncode == 2


DEFAULT_SUDOERS = """\
# Managed by datakeeper: edits are overwritten. Change sudo.allow and
# cache.kinds in the site config instead, then run datakeeper again.
Cmnd_Alias DATAKEEPER_CMNDS = /usr/local/sbin/datakeeper-helper cache-clean conda, \\
    /usr/local/sbin/datakeeper-helper cache-clean conda --older-than 7d, \\
    /usr/local/sbin/datakeeper-helper cache-clean conda --older-than 30d, \\
    /usr/local/sbin/datakeeper-helper cache-clean conda --older-than 90d, \\
    /usr/local/sbin/datakeeper-helper cache-clean torch, \\
    /usr/local/sbin/datakeeper-helper cache-clean torch --older-than 7d, \\
    /usr/local/sbin/datakeeper-helper cache-clean torch --older-than 30d, \\
    /usr/local/sbin/datakeeper-helper cache-clean torch --older-than 90d, \\
    /usr/local/sbin/datakeeper-helper cache-clean huggingface, \\
    /usr/local/sbin/datakeeper-helper cache-clean huggingface --older-than 7d, \\
    /usr/local/sbin/datakeeper-helper cache-clean huggingface --older-than 30d, \\
    /usr/local/sbin/datakeeper-helper cache-clean huggingface --older-than 90d, \\
    /usr/local/sbin/datakeeper-helper disk-usage, \\
    /usr/bin/df "", \\
    /usr/bin/df -h, \\
    /usr/local/sbin/datakeeper-helper backup-restore, \\
    /usr/local/sbin/datakeeper-helper backup-browse
%gpu-users ALL=(root) NOPASSWD: DATAKEEPER_CMNDS
"""


def test_default_sudoers_lists_exact_commands_only():
    text = render_sudoers(parse_config("", "test")).decode()
    assert text == DEFAULT_SUDOERS
    assert "*" not in text


@pytest.mark.skipif(shutil.which("visudo") is None, reason="needs visudo")
def test_default_sudoers_passes_visudo(tmp_path):
    path = _file(tmp_path / "datakeeper", render_sudoers(parse_config("", "test")))
    subprocess.run(["visudo", "-csf", str(path)], check=True, capture_output=True)


def test_sudoers_follows_allow_kinds_group_and_names():
    extra = (
        'group = "lab"\n[sudo]\nallow = ["cache-clean"]\ndropin_name = "10-dk"\n'
        '[cache]\nkinds = ["pip", "torch"]\n'
    )
    text = render_sudoers(parse_config(extra, "test")).decode()
    helper = "/usr/local/sbin/datakeeper-helper"
    assert f"Cmnd_Alias DK_10_DK_CMNDS = {helper} cache-clean torch, \\\n" in text
    assert f"    {helper} cache-clean torch --older-than 90d\n" in text
    assert "%lab ALL=(root) NOPASSWD: DK_10_DK_CMNDS\n" in text
    assert "df" not in text and "pip" not in text


def test_sudoers_with_nothing_allowed_has_no_rule():
    text = render_sudoers(
        parse_config('[sudo]\nallow = ["cache-clean"]\n[cache]\nkinds = ["uv"]\n', "t")
    )
    assert "NOPASSWD" not in text.decode()


def test_helper_path_that_needs_escaping_is_refused():
    cfg = parse_config("", "test")  # the config refuses such paths too: build one around it
    sudo = cfg.sudo.model_copy(update={"helper_path": Path("/usr/local/sbin/dk helper,ALL")})
    cfg = cfg.model_copy(update={"sudo": sudo})
    with pytest.raises(InvalidInputError, match=r"sudo\.helper_path"):
        render_sudoers(cfg)


def test_sudo_resources_are_the_helper_then_the_drop_in(tmp_path):
    manifest = OwnedFilesManifest(tmp_path / "managed.json")
    helper_file, dropin = sudo_resources(parse_config("", "test"), manifest)
    assert isinstance(helper_file, HelperFile) and isinstance(dropin, GrantingDropIn)
    assert helper_file.ownership.describe() == "root:root 0755"
    assert str(dropin.path) == "/etc/sudoers.d/datakeeper"
    assert dropin.helper_content == helper_file.content
    assert sudo_resources(parse_config("[sudo]\nenabled = false\n", "t"), manifest) == []


def test_helper_in_a_writable_directory_is_a_conflict(tmp_path):
    cfg = _config(tmp_path, f'[sudo]\nhelper_path = "{tmp_path}/sbin/datakeeper-helper"\n')
    (tmp_path / "sbin").mkdir()
    (tmp_path / "sbin").chmod(0o2775)
    resources = sudo_resources(cfg, OwnedFilesManifest(tmp_path / "managed.json"))
    for resource in resources:
        with pytest.raises(ConflictError) as raised:
            resource.plan()
        assert f"{tmp_path}/sbin is writable by its group (mode 2775)" in str(raised.value)
    assert not (tmp_path / "sbin/datakeeper-helper").exists()
