"""Where each cache lives and how big it is (read-only; nothing here deletes).

Shared caches come from the site's environment (``cfg.resolved_env()``):
conda packages (the first ``CONDA_PKGS_DIRS``), the HuggingFace hub and
datasets caches, the torch hub. Personal ones are in the invoking user's
home: pip (``~/.cache/pip``) and uv (``~/.cache/uv``).
"""

from __future__ import annotations

import os
import pwd
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import InvalidInputError
from datakeeper.features.setup.sudo import shared_cache_dirs
from datakeeper.i18n import _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

# The cleanable kinds, in the order they are shown, and their command-line flags.
FLAGS = {
    "conda": "--conda",
    "pip": "--pip",
    "uv": "--uv",
    "torch": "--torch",
    "huggingface": "--hf",
}
PERSONAL = frozenset({"pip", "uv"})
AGE_RE = re.compile(r"(\d{1,5})([dw]?)")
MAX_DEPTH = 64


@dataclass(frozen=True)
class CacheLocation:
    """One cache directory: its kind (as in ``cache.kinds``), a label, and whose it is."""

    kind: str
    label: str
    path: Path
    shared: bool
    cleanable: bool = True  # the datasets cache is listed, not cleaned


@dataclass
class Usage:
    """Allocated size (like ``du``; each inode once), regular files, the oldest access."""

    size: int = 0
    files: int = 0
    oldest_access: float | None = None
    unreadable: int = 0  # directories we could not list (another user's private ones)
    exists: bool = True


def invoking_home() -> Path:
    """The home of the account running this (its personal caches are there)."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def locations(cfg: SiteConfig, home: Path | None = None) -> list[CacheLocation]:
    """Every cache of the kinds the site config lists, shared ones first."""
    home = invoking_home() if home is None else home
    shared_dirs = shared_cache_dirs(cfg)
    shared_env, _personal = cfg.resolved_env()
    found: list[CacheLocation] = []
    for kind in [k for k in FLAGS if k in cfg.cache.kinds]:
        if kind in PERSONAL:
            found.append(CacheLocation(kind, kind, home / ".cache" / kind, shared=False))
        elif kind in shared_dirs:
            label = {"conda": _("conda packages"), "huggingface": _("huggingface hub")}
            found.append(
                CacheLocation(kind, label.get(kind, _("torch hub")), Path(shared_dirs[kind]), True)
            )
        if kind == "huggingface" and _datasets_dir(shared_env):
            datasets = Path(_datasets_dir(shared_env) or "")
            found.append(CacheLocation(kind, _("huggingface datasets"), datasets, True, False))
    return sorted(found, key=lambda loc: not loc.shared)


def _datasets_dir(env: dict[str, str]) -> str | None:
    value = env.get("HF_DATASETS_CACHE") or (
        f"{env['HF_HOME'].rstrip('/')}/datasets" if env.get("HF_HOME") else None
    )
    return os.path.normpath(value) if value and os.path.isabs(value) else None


def parse_age(text: str) -> int:
    """``30d``, ``2w`` or ``30`` (days) as a number of days; ``InvalidInputError`` otherwise."""
    match = AGE_RE.fullmatch(text.strip())
    if match is None:
        raise InvalidInputError(
            _('--older-than "{value}": use a number of days like 30d, or weeks like 4w').format(
                value=text
            )
        )
    number, unit = int(match.group(1)), match.group(2)
    return number * 7 if unit == "w" else number


def measure(path: Path) -> Usage:
    """Walk ``path`` without following links; count each inode once (hard links)."""
    usage = Usage()
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return Usage(exists=False)
    if not stat.S_ISDIR(top.st_mode):
        return Usage(exists=False)
    seen: set[tuple[int, int]] = set()
    _measure(str(path), top.st_dev, usage, seen, 0)
    return usage


def _measure(path: str, device: int, usage: Usage, seen: set, depth: int) -> None:
    try:
        with os.scandir(path) as entries:
            listing = list(entries)
    except OSError:
        usage.unreadable += 1
        return
    for entry in listing:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            usage.size += info.st_blocks * 512
        if stat.S_ISREG(info.st_mode):
            usage.files += 1
            oldest = usage.oldest_access
            usage.oldest_access = info.st_atime if oldest is None else min(oldest, info.st_atime)
        elif stat.S_ISDIR(info.st_mode) and info.st_dev == device and depth < MAX_DEPTH:
            _measure(entry.path, device, usage, seen, depth + 1)
