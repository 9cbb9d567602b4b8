"""Map a shell name from the config (``bash``, ``zsh``) to an installed login shell."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

ETC_SHELLS = Path("/etc/shells")


def resolve_shell(cfg: SiteConfig, name: str | None, shells_file: Path = ETC_SHELLS) -> str:
    """The path of shell ``name`` (default: the config's), if allowed and installed."""
    name = name or cfg.home.default_shell
    if name not in cfg.home.allowed_shells:
        raise InvalidInputError(
            _(
                'shell "{name}": not allowed here; choose one of {allowed} '
                "(home.allowed_shells in the config)"
            ).format(name=name, allowed=", ".join(cfg.home.allowed_shells))
        )
    candidates = [p for p in _listed_shells(shells_file) if Path(p).name == name]
    installed = [p for p in candidates if Path(p).exists()]
    if not installed:
        raise InvalidInputError(
            _(
                'shell "{name}": not installed (not in {file}); install it first, e.g. '
                "apt-get install {name}"
            ).format(name=name, file=shells_file)
        )
    preferred = [p for p in installed if p.startswith("/bin/")] or installed
    return preferred[0]


def _listed_shells(shells_file: Path) -> list[str]:
    try:
        lines = shells_file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [line.strip() for line in lines if line.strip().startswith("/")]
