"""``datakeeper packages``: a short catalogue of admin tools, installed for everyone.

OS packages come from ``apt-get`` under their Debian names (``fd-find``,
``bat``). They land on the SSD, so every wipe takes them: the catalogue names
installed are recorded in ``<state_dir>/packages.json`` and
``package_resources(cfg)`` gives recovery what to install again. Python tools
(ruff) go to persistent storage: ``uv tool install`` into
``<data_root>/apps/tools`` (or, without the shared uv, pip into a virtual
environment ``<data_root>/apps/tools/<name>``), linked into ``/usr/local/bin``,
so after a wipe only the links come back, and nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from datakeeper.engine import Change, Resource
from datakeeper.engine.session import change_session
from datakeeper.errors import DatakeeperError, InvalidInputError
from datakeeper.i18n import _
from datakeeper.managed import ManagedFiles
from datakeeper.resources import Directory, ManagedFile, Symlink
from datakeeper.resources.ownership import Ownership
from datakeeper.system.commands import run

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

APT_LISTS = Path("/var/lib/apt/lists")
BIN_DIR = Path("/usr/local/bin")
LISTS_MAX_AGE = 86400  # seconds before the package lists are refreshed again
INSTALL_TIMEOUT = 1800
RECORD_NAME = "packages.json"
APT_ENV = ("env", "DEBIAN_FRONTEND=noninteractive", "NEEDRESTART_MODE=a")
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
class AptLists(Resource):
    """apt's package lists are fresh whenever one of ``packages`` is to be installed."""

    packages: tuple[str, ...]

    @property
    def id(self) -> str:
        return "apt package lists"

    def plan(self) -> list[Change]:
        if lists_fresh() or all(dpkg_installed(p) for p in self.packages):
            return []
        action = lambda: run([*APT_ENV, "apt-get", "update"], timeout=INSTALL_TIMEOUT)  # noqa: E731
        return [Change(self.id, _("refresh the package lists (apt-get update)"), action)]


@dataclass(frozen=True)
class AptPackage(Resource):
    """The OS package ``package`` is installed (on the SSD: gone after a wipe)."""

    package: str

    @property
    def id(self) -> str:
        return f"apt {self.package}"

    def plan(self) -> list[Change]:
        if dpkg_installed(self.package):
            return []
        argv = [*APT_ENV, "apt-get", "install", "-y", "--no-install-recommends", self.package]
        summary = _("install the OS package {name} (apt-get)").format(name=self.package)
        action = lambda: run(argv, timeout=INSTALL_TIMEOUT)  # noqa: E731
        return [Change(self.id, summary, action, None, {"package": self.package})]


@dataclass(frozen=True)
class PythonTool(Resource):
    """``requirement`` installed on persistent storage, its commands in ``bin_dir``.

    With ``uv``: ``uv tool install`` with ``UV_TOOL_DIR=prefix`` and the system
    Python (a Python uv downloaded would live in root's wiped home). Without:
    a virtual environment at ``prefix`` made by the OS's python3, then pip.
    """

    requirement: str
    commands: tuple[str, ...]
    prefix: Path
    bin_dir: Path
    uv: Path | None

    @property
    def id(self) -> str:
        return f"tool {self.requirement}"

    def touches(self) -> tuple[Path, ...]:
        return (self.prefix, self.bin_dir)

    def plan(self) -> list[Change]:
        if all(os.access(self.bin_dir / c, os.X_OK) for c in self.commands):
            return []
        how = "uv tool" if self.uv else "pip"
        summary = _("install {req} with {how} into {prefix}").format(
            req=self.requirement, how=how, prefix=self.prefix
        )
        return [Change(self.id, summary, self._install, None, {"requirement": self.requirement})]

    def _install(self) -> None:
        from datakeeper.features.setup.software import system_python

        python = system_python()
        if self.uv is not None:
            env = [f"UV_TOOL_DIR={self.prefix}", f"UV_TOOL_BIN_DIR={self.bin_dir}"]
            env += [f"UV_PYTHON={python}", "UV_PYTHON_PREFERENCE=only-system"]
            argv = ["env", *env, str(self.uv), "tool", "install", self.requirement]
            run(argv, timeout=INSTALL_TIMEOUT)
            return
        run([python, "-m", "venv", str(self.prefix)], timeout=INSTALL_TIMEOUT)
        pip = [str(self.prefix / "bin/python"), "-m", "pip", "install", "-q", self.requirement]
        run(pip, timeout=INSTALL_TIMEOUT)


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


def recorded(cfg: SiteConfig) -> list[str]:
    """Catalogue names installed so far (what recovery installs again)."""
    try:
        data = json.loads((cfg.state_dir / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = data.get("packages", []) if isinstance(data, dict) else []
    return sorted({n for n in names if isinstance(n, str)})


def _record(cfg: SiteConfig, names: set[str]) -> ManagedFile:
    content = json.dumps({"packages": sorted(names)}, indent=2) + "\n"
    owner = Ownership("root", "root", 0o600)
    return ManagedFile(
        (cfg.state_dir / RECORD_NAME), content.encode(), owner, ManagedFiles(cfg.managed_files_path)
    )


def package_resources(cfg: SiteConfig, *, os_packages: bool = True) -> list[Resource]:
    """Everything recorded, for recovery: tool links (nothing downloaded when the tool is
    on storage), and the OS packages again unless ``os_packages`` is False."""
    known = {p.name: p for p in catalogue()}
    wanted = [known[n] for n in recorded(cfg) if n in known]
    apt = [p.source for p in wanted if p.kind == "apt"]
    resources: list[Resource] = [AptLists(tuple(apt))] if apt and os_packages else []
    for package in wanted:
        if package.kind != "apt":
            resources += resources_for(cfg, package)
        elif os_packages:
            resources.append(AptPackage(package.source))
    return resources


@dataclass
class PackageResult:
    """How one package went: installed, already installed, would install, failed."""

    name: str
    status: str
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
        done = {r.name for r in results if r.status != "failed"}
        if done and not dry_run:
            session.converge([_record(cfg, set(recorded(cfg)) | done)])
    return results


def _install_one(session, cfg, package: Package, dry_run: bool, on_change) -> PackageResult:
    try:
        outcome = session.converge(resources_for(cfg, package), on_change=on_change)
    except DatakeeperError as error:
        return PackageResult(package.name, "failed", error=str(error))
    changes = [c.summary for c in outcome.planned]
    if not changes:
        return PackageResult(package.name, "already installed")
    return PackageResult(package.name, "would install" if dry_run else "installed", changes)


def package_status(cfg: SiteConfig | None) -> list[dict]:
    """Each catalogue entry with whether it is installed now and recorded for recovery."""
    saved = set(recorded(cfg)) if cfg is not None else set()
    rows = []
    for p in catalogue():
        on_path = all(os.access(BIN_DIR / c, os.X_OK) for c in p.commands)
        installed = dpkg_installed(p.source) if p.kind == "apt" else on_path
        rows.append({**vars(p), "installed": installed, "recorded": p.name in saved})
    return rows
