"""The translation tooling (scripts/i18n.py) for tests: extract, check, compile."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.support.sandbox import PROJECT_ROOT

SCRIPT = Path(PROJECT_ROOT) / "scripts" / "i18n.py"


def tools() -> ModuleType:
    """scripts/i18n.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("datakeeper_i18n_tools", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compile_if_stale() -> None:
    """Compile the .po files when one changed since its .mo was built."""
    catalogs = tools()
    if catalogs.stale():
        catalogs.compile_catalogs()
