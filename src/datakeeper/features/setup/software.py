"""Shared Miniconda and uv for everyone (setup step 5, ENV).

Both live on persistent storage (see ``datakeeper.resources.software``), so a
wipe only takes the links datakeeper puts on the SSD: ``/etc/profile.d/conda.sh``
(every login shell gets ``conda``, no rc file edited), ``/usr/local/bin/uv``/
``uvx`` and ``/usr/local/bin/datakeeper``; converging again re-creates the links
and downloads nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine.resource import Resource
from datakeeper.paths import INSTALLED_TOOL
from datakeeper.resources.software import MinicondaInstall, UvInstall
from datakeeper.resources.symlink import Symlink

if TYPE_CHECKING:
    from datakeeper.config.schema import SiteConfig

PROFILE_DIR = Path("/etc/profile.d")
BIN_DIR = Path("/usr/local/bin")


def software_resources(
    cfg: SiteConfig, *, profile_dir: Path = PROFILE_DIR, bin_dir: Path = BIN_DIR
) -> list[Resource]:
    """Miniconda and uv as the config asks, with the links that put them in reach."""
    root = cfg.storage.data_root
    resources: list[Resource] = []
    if cfg.conda.enabled:
        conda, prefix = cfg.conda, cfg.conda_prefix
        timeout = float(conda.download_timeout_seconds)
        sha256 = conda.installer_sha256
        resources.append(MinicondaInstall(prefix, conda.installer_url, sha256, timeout, root))
        profile = prefix / "etc" / "profile.d" / "conda.sh"
        resources.append(Symlink(profile_dir / "conda.sh", profile))
    if cfg.uv.enabled:
        resources.append(UvInstall(cfg.uv_prefix, cfg.uv.requirement, storage_root=root))
        for name in ("uv", "uvx"):
            resources.append(Symlink(bin_dir / name, cfg.uv_prefix / "bin" / name))
    return resources + tool_link(cfg, bin_dir=bin_dir)


def tool_link(cfg: SiteConfig, *, bin_dir: Path = BIN_DIR) -> list[Resource]:
    """``datakeeper`` itself on everyone's PATH: the link install.sh made, which a wipe
    takes with the SSD. Only where install.sh put the tool on storage (a copy run from
    elsewhere has nothing to link)."""
    installed = cfg.storage.data_root / INSTALLED_TOOL
    if not installed.exists():
        return []
    return [Symlink(bin_dir / "datakeeper", installed)]
