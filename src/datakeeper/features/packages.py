"""``datakeeper packages``: a short catalogue of admin tools, installed for everyone.

OS packages come from ``apt-get`` under their Debian names (``fd-find``,
``bat``). They land on the SSD, so every wipe takes them: the catalogue names
installed are recorded in ``<state_dir>/packages.json``; ``packages install``
with no names installs that set again, ``package_resources(cfg)`` is what
``check`` plans (listing the missing ones) and ``check --fix`` installs. Boot
recovery does not: it downloads nothing, and says which command to run.
Python tools (ruff) go to persistent storage: ``uv tool install`` into
``<data_root>/apps/tools`` (or, without the shared uv, pip into a virtual
environment ``<data_root>/apps/tools/<name>``), linked into ``/usr/local/bin``,
so after a wipe recovery brings back only the links, and downloads nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from datakeeper.engine import Change, Resource
from datakeeper.engine.session import change_session
from datakeeper.errors import DatakeeperError, InvalidInputError
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest
from datakeeper.resources import Directory, ManagedFile, Symlink, apt
from datakeeper.resources.apt import AptLists, AptPackage
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.software import PythonTool
from datakeeper.status import InstallStatus

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

BIN_DIR = Path("/usr/local/bin")
RECORD_NAME = "packages.json"
ROOT_DIR = Ownership("root", "root", 0o755)


@dataclass(frozen=True)
class Package:
    """One catalogue entry: ``kind`` "apt" (``source`` = Debian package) or "tool" (PyPI)."""

    name: str
    kind: str
    source: str
    commands: tuple[str, ...]
    description: str


def catalogue() -> list[Package]:
    """Every package ``packages install`` offers, by name."""
    return [  # by name
        Package("bat", "apt", "bat", ("batcat",), _("cat with syntax highlighting (batcat)")),
        Package("btop", "apt", "btop", ("btop",), _("resource monitor: CPU, memory, disks")),
        Package("fd", "apt", "fd-find", ("fdfind",), _("fast, friendly find (fdfind)")),
        Package("fzf", "apt", "fzf", ("fzf",), _("fuzzy finder for files and shell history")),
        Package("htop", "apt", "htop", ("htop",), _("interactive process viewer")),
        Package("jq", "apt", "jq", ("jq",), _("JSON processor for the shell")),
        Package("ncdu", "apt", "ncdu", ("ncdu",), _("disk usage browser")),
        Package("neovim", "apt", "neovim", ("nvim",), _("text editor (nvim)")),
        Package("nvtop", "apt", "nvtop", ("nvtop",), _("GPU monitor (needs contrib/multiverse)")),
        Package("ripgrep", "apt", "ripgrep", ("rg",), _("fast recursive search (rg)")),
        Package("ruff", "tool", "ruff", ("ruff",), _("Python linter and formatter")),
        Package("tmux", "apt", "tmux", ("tmux",), _("terminal multiplexer: sessions survive")),
        Package("tree", "apt", "tree", ("tree",), _("directory listing as a tree")),
    ]


def resolve(names: list[str]) -> list[Package]:
    """The catalogue entries named, in catalogue order; unknown names are refused."""
    known = {p.name: p for p in catalogue()}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInputError(
            _("unknown package {names}; choose from: {known}").format(
                names=", ".join(f'"{n}"' for n in unknown), known=", ".join(known)
            )
        )
    if not names:
        raise InvalidInputError(
            _("no package named; choose from: {known}").format(known=", ".join(known))
        )
    return [p for p in known.values() if p.name in set(names)]


def tools_dir(cfg: SiteConfig) -> Path:
    """Where Python tools live: ``<data_root>/apps/tools`` (root-only, persistent)."""
    return cfg.storage.data_root / "apps" / "tools"


def _shared_uv(cfg: SiteConfig) -> Path | None:
    uv = cfg.uv_prefix / "bin" / "uv"
    return uv if cfg.uv.enabled and os.access(uv, os.X_OK) else None


def resources_for(cfg: SiteConfig, package: Package) -> list[Resource]:
    """What installing ``package`` converges, in order."""
    if package.kind == "apt":
        return [AptLists((package.source,)), AptPackage(package.source)]
    root, uv = tools_dir(cfg), _shared_uv(cfg)
    prefix = root / "uv" if uv else root / package.name
    bin_dir = root / "bin" if uv else prefix / "bin"
    resources: list[Resource] = [Directory(root, ROOT_DIR)]
    resources.append(PythonTool(package.source, package.commands, prefix, bin_dir, uv))
    resources += [Symlink(BIN_DIR / c, bin_dir / c) for c in package.commands]
    return resources


def wiped_note() -> str:
    """Where packages live and how they come back after a reboot (CLI and menu)."""
    return _(
        "OS packages (apt) are wiped at every reboot: 'datakeeper packages install' with "
        "no names puts the recorded ones back. Python tools live on the data disk."
    )


def names_or_recorded(cfg: SiteConfig, names: list[str]) -> list[str]:
    """``names``, or when none are given the recorded set (installed again after a wipe)."""
    return list(names) if names else recorded(cfg)


def recorded(cfg: SiteConfig) -> list[str]:
    """Catalogue names installed so far (what ``packages install`` with no names and
    ``check --fix`` install again after a wipe)."""
    try:
        data = json.loads((cfg.state_dir / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = data.get("packages", []) if isinstance(data, dict) else []
    return sorted({n for n in names if isinstance(n, str)})


def _record(cfg: SiteConfig, names: set[str]) -> ManagedFile:
    content = json.dumps({"packages": sorted(names)}, indent=2) + "\n"
    owner = Ownership("root", "root", 0o600)
    manifest = OwnedFilesManifest(cfg.managed_files_path)
    return ManagedFile(cfg.state_dir / RECORD_NAME, content.encode(), owner, manifest)


def package_resources(cfg: SiteConfig) -> list[Resource]:
    """Everything recorded, as ``packages install`` converges it: the OS packages and
    the tools with their links (recovery leaves out what downloads, see ``Downloader``)."""
    known = {p.name: p for p in catalogue()}
    wanted = [known[n] for n in recorded(cfg) if n in known]
    os_packages = tuple(p.source for p in wanted if p.kind == "apt")
    resources: list[Resource] = [AptLists(os_packages)] if os_packages else []
    for package in wanted:
        if package.kind == "apt":
            resources.append(AptPackage(package.source))
        else:
            resources += resources_for(cfg, package)
    return resources


@dataclass
class PackageResult:
    """How one package went: installed, already installed, would install, failed."""

    name: str
    status: InstallStatus
    changes: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict:
        """JSON-able (for --json)."""
        return vars(self).copy()


class InstallListener(Protocol):
    """Follows ``install_packages`` (a progress display)."""

    def started(self, index: int, total: int, package: Package) -> None: ...
    def finished(self, result: PackageResult) -> None: ...


def install_packages(
    cfg: SiteConfig,
    names: list[str],
    *,
    dry_run: bool,
    listener: InstallListener | None = None,
    on_change: Callable[[Change, str], None] | None = None,
) -> list[PackageResult]:
    """Install each package named (one failing does not stop the others), then record
    every one that is in place."""
    packages = resolve(names)
    results: list[PackageResult] = []
    with change_session(cfg, dry_run=dry_run) as session:
        for index, package in enumerate(packages, start=1):
            if listener is not None:
                listener.started(index, len(packages), package)
            result = _install_one(session, cfg, package, dry_run, on_change)
            results.append(result)
            if listener is not None:
                listener.finished(result)
        done = {r.name for r in results if r.status is not InstallStatus.FAILED}
        if done and not dry_run:
            session.converge([_record(cfg, set(recorded(cfg)) | done)])
    return results


def _install_one(session, cfg, package: Package, dry_run: bool, on_change) -> PackageResult:
    try:
        outcome = session.converge(resources_for(cfg, package), on_change=on_change)
    except DatakeeperError as error:
        return PackageResult(package.name, InstallStatus.FAILED, error=str(error))
    changes = [c.summary for c in outcome.planned]
    if not changes:
        return PackageResult(package.name, InstallStatus.ALREADY_INSTALLED)
    status = InstallStatus.WOULD_INSTALL if dry_run else InstallStatus.INSTALLED
    return PackageResult(package.name, status, changes)


@dataclass(frozen=True)
class PackageStatus:
    """One catalogue entry, whether it is installed now and recorded for recovery."""

    package: Package
    installed: bool
    recorded: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (for --json): the entry's fields, then ``installed`` and ``recorded``."""
        return {**asdict(self.package), "installed": self.installed, "recorded": self.recorded}


def package_status(cfg: SiteConfig | None) -> list[PackageStatus]:
    """Each catalogue entry with whether it is installed now and recorded for recovery."""
    saved = set(recorded(cfg)) if cfg is not None else set()
    return [PackageStatus(p, _installed(p), p.name in saved) for p in catalogue()]


def _installed(package: Package) -> bool:
    if package.kind == "apt":
        return apt.dpkg_installed(package.source)
    return all(os.access(BIN_DIR / c, os.X_OK) for c in package.commands)
