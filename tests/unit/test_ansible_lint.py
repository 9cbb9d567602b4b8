"""contrib/ansible: every role variable documented, and ansible-lint clean (production)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "ansible"
ROLE = CONTRIB / "roles" / "datakeeper_node"
# A role variable: a top-level key of defaults/main.yml.
VARIABLE = re.compile(r"^(datakeeper_node_\w+):", re.MULTILINE)


def role_variables() -> list[str]:
    """The variables an admin may set: the keys of the role's defaults."""
    return VARIABLE.findall((ROLE / "defaults" / "main.yml").read_text())


def test_every_role_variable_is_documented_and_checked():
    names = role_variables()
    assert len(names) >= 8, names
    readme = (CONTRIB / "README.md").read_text()
    specs = (ROLE / "meta" / "argument_specs.yml").read_text()
    assert [n for n in names if f"`{n}`" not in readme] == []
    assert [n for n in names if f"\n      {n}:\n" not in specs] == []


def test_the_role_passes_ansible_lint_with_the_production_profile(tmp_path):
    pytest.importorskip(
        "ansiblelint",
        reason="ansible-lint is not installed: pip install -e '.[ansible]' to lint contrib/ansible",
    )
    # ansible-lint writes its caches (.ansible/) beside what it lints: lint a copy.
    copy = shutil.copytree(CONTRIB, tmp_path / "ansible", ignore=shutil.ignore_patterns(".ansible"))
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "ansiblelint", "--offline", "--profile", "production"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "0 failure(s), 0 warning(s)" in output, output
