"""OS packages from apt: installed on the SSD, so every wipe takes them."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.errors import DatakeeperError
from datakeeper.i18n import _
from datakeeper.resources.download import Downloader
from datakeeper.system.commands import run

APT_LISTS = Path("/var/lib/apt/lists")
LISTS_MAX_AGE = 86400  # seconds before the package lists are refreshed again
INSTALL_TIMEOUT = 1800
APT_ENV = ("env", "DEBIAN_FRONTEND=noninteractive", "NEEDRESTART_MODE=a")


def dpkg_installed(package: str) -> bool:
    """Whether dpkg says ``package`` is installed (``ii``)."""
    try:
        out = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", package], timeout=30).stdout
    except DatakeeperError:
        return False
    return out.startswith("ii")


def lists_fresh(lists: Path = APT_LISTS, now: float | None = None) -> bool:
    """Whether apt's package lists exist and are younger than ``LISTS_MAX_AGE``."""
    try:
        ages = [e.stat().st_mtime for e in os.scandir(lists) if e.name.endswith("_Packages")]
    except OSError:
        return False
    return bool(ages) and (now or time.time()) - max(ages) < LISTS_MAX_AGE


@dataclass(frozen=True)
class AptLists(Downloader):
    """apt's package lists are fresh whenever one of ``packages`` is to be installed."""

    packages: tuple[str, ...]

    @property
    def id(self) -> str:
        return "apt package lists"

    def plan(self) -> list[Change]:
        if lists_fresh() or all(dpkg_installed(p) for p in self.packages):
            return []
        summary = _("refresh the package lists (apt-get update)")
        return [Change(self.id, summary, _update, operation="refresh")]


def _update() -> None:
    run([*APT_ENV, "apt-get", "update"], timeout=INSTALL_TIMEOUT)


@dataclass(frozen=True)
class AptPackage(Downloader):
    """The OS package ``package`` is installed (on the SSD: gone after a wipe)."""

    package: str

    @property
    def id(self) -> str:
        return f"apt {self.package}"

    def plan(self) -> list[Change]:
        if dpkg_installed(self.package):
            return []
        summary = _("install the OS package {name} (apt-get)").format(name=self.package)
        return [Change(self.id, summary, self._install, None, {"package": self.package})]

    def _install(self) -> None:
        argv = [*APT_ENV, "apt-get", "install", "-y", "--no-install-recommends", self.package]
        run(argv, timeout=INSTALL_TIMEOUT)
