"""``check``'s trust audit: every path root runs or sources, and no exception for the
storage roots (issue 11, item 1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.features.check.trusted import check_trust, trusted_paths

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
TOOL = "apps/datakeeper/current/bin/datakeeper"


def _make(path: Path, mode: int, text: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        path.mkdir(exist_ok=True)
    else:
        path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def data(tmp_path) -> Path:
    """A data root made as init makes it (root, 3775), with the installed tool below."""
    tmp_path.chmod(0o755)
    root = _make(tmp_path / "data", 0o3775)
    for folder in (
        "apps",
        "apps/datakeeper",
        "apps/datakeeper/current",
        "apps/datakeeper/current/bin",
    ):
        _make(root / folder, 0o755)
    _make(root / TOOL, 0o755, "#!/bin/sh\n")
    return root


def _cfg(data: Path, extra: str = ""):
    text = f'[storage]\ndata_root = "{data}"\nbackup_root = ""\n[sudo]\nenabled = false\n'
    return parse_config(text + extra, "test")


def _lines(cfg, data: Path, link_dirs=()) -> dict[str, tuple[str, str]]:
    results = check_trust(cfg, data / "config/datakeeper.toml", link_dirs)
    return {line.subject: (line.status, line.detail) for line in results}


def test_the_installed_tool_passes_below_a_root_owned_sticky_data_root(data):
    lines = _lines(_cfg(data), data)
    assert lines[str(data)] == ("PASS", "owned by root")
    assert lines[str(data / TOOL)] == ("PASS", "")


def test_an_admin_owned_data_root_fails_and_so_does_everything_below_it(data):
    os.chown(data, 54321, -1)  # the layout of an older datakeeper
    lines = _lines(_cfg(data), data)
    assert lines[str(data)] == (
        "FAIL",
        "owned by uid 54321: root runs programs below it, and its owner can rename any "
        "entry and put another in its place; fix: datakeeper check --fix (makes it "
        "root:gpu-users)",
    )
    status, detail = lines[str(data / TOOL)]
    assert status == "FAIL"
    assert f"{data} is owned by uid 54321, not root; fix: chown root {data}" in detail


def test_conda_uv_and_links_into_storage_are_audited(data, tmp_path):
    conda_sh = _make(data / "apps/miniconda3/etc/profile.d/conda.sh", 0o664, "conda() { :; }\n")
    uv = _make(data / "apps/uv/bin/uv", 0o755, "")
    ruff = _make(data / "apps/tools/ruff/bin/ruff", 0o755, "")
    bin_dir = _make(tmp_path / "usr/local/bin", 0o755)
    (bin_dir / "ruff").symlink_to(ruff)
    (bin_dir / "elsewhere").symlink_to("/usr/bin/env")
    cfg = _cfg(data, "[conda]\nenabled = true\n[uv]\nenabled = true\n")
    paths = trusted_paths(cfg, data / "config/datakeeper.toml", (bin_dir,))
    assert {conda_sh, uv, ruff} <= set(paths)
    assert Path("/usr/bin/env") not in paths
    lines = _lines(cfg, data, (bin_dir,))
    assert lines[str(conda_sh)][0] == "FAIL"  # group-writable: any member could edit it
    assert lines[str(uv)] == lines[str(ruff)] == ("PASS", "")
