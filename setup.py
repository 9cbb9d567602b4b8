"""Build hook: compile the translation catalogs into the wheel.

Everything else about the package is in pyproject.toml. The .po sources are
in git; their compiled .mo files are made here, at build time, so a server
installing the wheel (or building it offline with ``install.sh --wheels``)
needs nothing but pip. Babel is a build requirement (pyproject.toml).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _catalog_tools():
    spec = importlib.util.spec_from_file_location("datakeeper_i18n", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithCatalogs(build_py):
    """build_py, then each locale/*/LC_MESSAGES/datakeeper.po compiled to .mo."""

    def run(self) -> None:
        super().run()
        tools = _catalog_tools()
        source = ROOT / "src" / "datakeeper" / "locale"
        if getattr(self, "editable_mode", False):
            tools.compile_catalogs(source)  # an editable install reads the source tree
        else:
            tools.compile_catalogs(source, Path(self.build_lib) / "datakeeper" / "locale")


setup(cmdclass={"build_py": BuildWithCatalogs})
