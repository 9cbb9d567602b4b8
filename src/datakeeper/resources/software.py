"""Software installed onto persistent storage: Miniconda, uv, Python tools.

Each lives under a prefix on the data disk, so a wipe only takes the links to
it and converging again downloads nothing. Root runs what is installed here,
so ``plan`` checks that only root can write above a prefix, and installs run
with umask 022 (readable by all, writable by root only, whatever root's own
umask is).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.errors import CommandError, ConfigError, ConflictError
from datakeeper.i18n import _
from datakeeper.resources.download import Downloader, download_verified
from datakeeper.system.commands import run

# The OS image's own directories: they come back with every wipe, unlike
# /usr/local, and hold no pyenv shim or hand-built Python.
SYSTEM_PYTHON_PATH = "/usr/bin:/bin"
INSTALL_TIMEOUT = 1800


@dataclass(frozen=True)
class MinicondaInstall(Downloader):
    """Miniconda installed into ``prefix`` from ``url``, whose SHA-256 must be ``sha256``.

    Installed means ``prefix/bin/conda`` is an executable file. The installer is
    downloaded into a root-only (0700) folder next to the prefix: on the
    persistent disk, which has room for it (``/tmp`` is the SSD or RAM), and out
    of every other user's reach between hashing and running it. ``timeout``
    bounds the connection and every read (a stalled transfer), not the whole
    download. ``storage_root`` bounds the ownership check of the folders above
    the prefix (None: only its parent is checked).
    """

    prefix: Path
    url: str
    sha256: str
    timeout: float = 60
    storage_root: Path | None = None

    @property
    def id(self) -> str:
        return f"miniconda {self.prefix}"

    def touches(self) -> tuple[Path, ...]:
        return (self.prefix,)

    def plan(self) -> list[Change]:
        if _is_executable(self.prefix / "bin" / "conda"):
            return []
        if not self.sha256:
            raise ConfigError(
                _(
                    "conda.installer_sha256 is empty: set it to the SHA-256 published next to "
                    "the installer"
                )
            )
        _check_installable(self.prefix, self.storage_root, "bin/conda")
        summary = _("install Miniconda into {prefix} from {url} (SHA-256 verified)").format(
            prefix=self.prefix, url=self.url
        )
        after = {"url": self.url, "sha256": self.sha256}
        return [Change(self.id, summary, self._install, None, after)]

    def _install(self) -> None:
        with _private_folder_near(self.prefix) as folder:
            installer = folder / "installer.sh"
            download_verified(self.url, self.sha256, installer, self.timeout)
            with _removed_on_failure(self.prefix), _umask(0o022):
                argv = ["bash", str(installer), "-b", "-p", str(self.prefix)]
                run(argv, timeout=INSTALL_TIMEOUT)
                _require_executable(self.prefix / "bin" / "conda", "Miniconda")


@dataclass(frozen=True)
class UvInstall(Downloader):
    """uv installed with pip into its own virtual environment at ``prefix``.

    The environment is made by the OS's ``python3`` (``/usr/bin``), never by the
    Python running datakeeper: its release folders are replaced on upgrades and
    a pyenv or ``/usr/local`` Python may not survive a wipe. uv itself is a
    standalone binary, so it keeps working even if that Python changes. pip
    honours ``PIP_INDEX_URL``, ``PIP_FIND_LINKS`` and ``PIP_NO_INDEX``.
    """

    prefix: Path
    requirement: str
    storage_root: Path | None = None

    @property
    def id(self) -> str:
        return f"uv {self.prefix}"

    def touches(self) -> tuple[Path, ...]:
        return (self.prefix,)

    def plan(self) -> list[Change]:
        if _is_executable(self.prefix / "bin" / "uv"):
            return []
        _check_installable(self.prefix, self.storage_root, "bin/uv")
        summary = _("install uv ({requirement}) into {prefix}").format(
            requirement=self.requirement, prefix=self.prefix
        )
        after = {"requirement": self.requirement}
        return [Change(self.id, summary, self._install, None, after)]

    def _install(self) -> None:
        python = system_python()
        with _removed_on_failure(self.prefix), _umask(0o022):
            run([python, "-m", "venv", str(self.prefix)], timeout=INSTALL_TIMEOUT)
            pip = [str(self.prefix / "bin" / "python"), "-m", "pip", "install"]
            run([*pip, "--disable-pip-version-check", self.requirement], timeout=INSTALL_TIMEOUT)
            _require_executable(self.prefix / "bin" / "uv", "uv")


@dataclass(frozen=True)
class PythonTool(Downloader):
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


def system_python() -> str:
    """The OS's ``python3`` (``/usr/bin`` or ``/bin``); CommandError when it is missing."""
    found = shutil.which("python3", path=SYSTEM_PYTHON_PATH)
    if found is None:
        raise CommandError(
            _("python3: not found in {path}; install the OS packages python3 and python3-venv")
            .format(path=SYSTEM_PYTHON_PATH)
        )  # fmt: skip
    return found


def _check_installable(prefix: Path, storage_root: Path | None, marker: str) -> None:
    """A prefix that exists without the program, or an ancestor others may write: conflicts."""
    if os.path.lexists(prefix):
        raise ConflictError(
            _(
                "{prefix} exists but has no {marker}: it is not an install datakeeper "
                "can finish; move it away and run again"
            ).format(prefix=prefix, marker=marker)
        )
    for folder in _folders_above(prefix, storage_root):
        _check_root_only(folder, prefix)


def _folders_above(prefix: Path, storage_root: Path | None) -> list[Path]:
    """Existing directories from ``prefix``'s parent up to ``storage_root`` (excluded)."""
    if storage_root is None:
        return [next(p for p in prefix.parents if os.path.lexists(p))]
    return [
        p
        for p in prefix.parents
        if p.is_relative_to(storage_root) and p != storage_root and os.path.lexists(p)
    ]


def _check_root_only(folder: Path, prefix: Path) -> None:
    info = os.lstat(folder)
    owned = info.st_uid == os.geteuid() and not stat.S_ISLNK(info.st_mode)
    if not owned or stat.S_IMODE(info.st_mode) & 0o022:
        raise ConflictError(
            _(
                "{folder} must be a directory owned by root and writable by nobody else: "
                "root runs what is installed in {prefix}; fix it with chown root and "
                "chmod go-w, then run again"
            ).format(folder=folder, prefix=prefix)
        )


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _require_executable(path: Path, what: str) -> None:
    if not _is_executable(path):
        raise CommandError(
            _("the {what} installer finished but {path} is missing or not executable").format(
                what=what, path=path
            )
        )


@contextlib.contextmanager
def _private_folder_near(prefix: Path) -> Iterator[Path]:
    """A fresh 0700 folder beside ``prefix`` (its nearest existing ancestor), always removed."""
    parent = next(p for p in prefix.parents if p.is_dir())
    folder = Path(tempfile.mkdtemp(prefix=f".{prefix.name}.download-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _removed_on_failure(prefix: Path) -> Iterator[None]:
    """Remove a half-made ``prefix`` when the block fails, unless it existed before."""
    existed = os.path.lexists(prefix)
    try:
        yield
    except BaseException:
        if not existed and os.path.lexists(prefix):
            shutil.rmtree(prefix, ignore_errors=True)
        raise


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)
