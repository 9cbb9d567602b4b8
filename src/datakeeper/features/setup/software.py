"""Shared Miniconda and uv for everyone (setup step 5, ENV).

Both live on persistent storage, so a wipe only takes the links datakeeper puts
on the SSD: ``/etc/profile.d/conda.sh`` (every login shell gets ``conda``, no rc
file edited) and ``/usr/local/bin/uv``/``uvx``; converging again re-creates the
links and downloads nothing. Root runs what is installed here, so ``plan``
checks that only root can write above a prefix, and installs run with umask 022
(readable by all, writable by root only, whatever root's own umask is).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import socket
import stat
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.errors import CommandError, ConfigError, ConflictError, RefusedError
from datakeeper.i18n import _
from datakeeper.resources.symlink import Symlink
from datakeeper.system.commands import run

if TYPE_CHECKING:
    from datakeeper.config.schema import SiteConfig

PROFILE_DIR = Path("/etc/profile.d")
BIN_DIR = Path("/usr/local/bin")
# The OS image's own directories: they come back with every wipe, unlike
# /usr/local, and hold no pyenv shim or hand-built Python.
SYSTEM_PYTHON_PATH = "/usr/bin:/bin"
CHUNK = 1024 * 1024
INSTALL_TIMEOUT = 1800


@dataclass(frozen=True)
class MinicondaInstall(Resource):
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
class UvInstall(Resource):
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
    return resources


def system_python() -> str:
    """The OS's ``python3`` (``/usr/bin`` or ``/bin``); CommandError when it is missing."""
    found = shutil.which("python3", path=SYSTEM_PYTHON_PATH)
    if found is None:
        raise CommandError(
            _("python3: not found in {path}; install the OS packages python3 and python3-venv")
            .format(path=SYSTEM_PYTHON_PATH)
        )  # fmt: skip
    return found


def download_verified(url: str, sha256: str, destination: Path, timeout: float) -> None:
    """Stream ``url`` into the new file ``destination`` (0600) while hashing it.

    Raises ``CommandError`` (one line: the URL and why) when the download fails
    and ``RefusedError`` when the bytes do not have the SHA-256 ``sha256``.
    """
    digest = hashlib.sha256()
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in _fetch(url, timeout):
            digest.update(chunk)
            out.write(chunk)
    actual = digest.hexdigest()
    if actual != sha256:
        raise RefusedError(
            _(
                "refusing to run the installer from {url}: its SHA-256 is {actual}, expected "
                "{expected}; the download is damaged or not the file the config names"
            ).format(url=url, actual=actual, expected=sha256)
        )


def _fetch(url: str, timeout: float) -> Iterator[bytes]:
    """The body of ``url`` in chunks; network trouble becomes a one-line CommandError."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(_("{url}: only http:// and https:// URLs are downloaded").format(url=url))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked)
            while chunk := response.read(CHUNK):
                yield chunk
    except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
        message = _("cannot download {url}: {reason}; check the URL and the network")
        reason = _describe(error, timeout)
        raise CommandError(message.format(url=url, reason=reason)) from error


def _describe(reason: object, timeout: float) -> str:
    """Why a download failed, in a few words."""
    if isinstance(reason, urllib.error.HTTPError):
        return _("HTTP error {code} {reason}").format(code=reason.code, reason=reason.reason)
    if isinstance(reason, urllib.error.URLError):
        reason = reason.reason
    if isinstance(reason, TimeoutError | socket.timeout):
        return _("timed out after {s} s").format(s=f"{timeout:g}")
    if isinstance(reason, ConnectionRefusedError):
        return _("connection refused")
    if isinstance(reason, socket.gaierror):
        return _("host not found ({detail})").format(detail=reason.strerror)
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return " ".join(str(reason).split()) or type(reason).__name__


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
