"""The registry file: JSON on persistent storage, root-only, locked, written atomically.

Who may touch it. Root trusts this file to recreate accounts (uids, password
hashes, keys) after a wipe, so it is loaded only when nobody else could have
written or replaced it:

- the file must be a regular file (a symlink is refused, never followed),
  owned by the running user (root in production) and have no group/other
  permission bits (0600);
- its directory must be owned by root or the running user and not writable
  by group/other, unless it has the sticky bit AND is owned by the running
  user (then others cannot rename or delete the file).

Only the immediate directory is checked here; the whole path up to ``/`` is
the job of ``datakeeper check`` (trusted path). A refusal is a
``RegistryError`` of one line that names the file and the fix.

Writes happen only at the end of ``open_registry``, only if an entry changed,
and only when the block ended without an exception. A corrupt or invalid
file is reported and never overwritten. The JSON is stable (sorted keys,
indent 2, trailing newline) so that diffs and backups stay readable.

Several servers may share the registry on ``/data`` (NFS). The lock is a POSIX
record lock (``system/lock.py``), the file is loaded again after the lock is
taken (never a cached copy), every write replaces it whole (temp file, fsync,
rename: never torn) and raises its ``generation`` by one. A read that the
storage does not answer within ``DATAKEEPER_READ_TIMEOUT`` seconds (default 20)
fails with a message instead of hanging.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from datakeeper.errors import InvalidInputError, RegistryError
from datakeeper.i18n import _
from datakeeper.registry.model import (
    RegistryDocument,
    RegistryEntry,
    find_conflict,
    find_group_conflict,
    utc_now,
)
from datakeeper.system.fs import atomic_write
from datakeeper.system.lock import exclusive_lock, shared_lock
from datakeeper.system.nfs import NOBODY, is_squash_errno, squash_error, with_deadline

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
READ_TIMEOUT_ENV = "DATAKEEPER_READ_TIMEOUT"
DEFAULT_READ_TIMEOUT = 20.0


class Registry:
    """The managed accounts, loaded under the lock; changes are saved on exit."""

    def __init__(self, path: Path, document: RegistryDocument) -> None:
        self.path = path
        self.generation = document.generation
        self._loaded = (dict(document.users), dict(document.groups), dict(document.retired))
        self._users = dict(document.users)
        self._groups = dict(document.groups)
        self._retired = dict(document.retired)

    @property
    def changed(self) -> bool:
        """True when the entries or groups differ from what was loaded."""
        return (self._users, self._groups, self._retired) != self._loaded

    def groups(self) -> dict[str, int]:
        """The shared groups datakeeper manages: name -> gid."""
        return dict(sorted(self._groups.items()))

    def set_group(self, name: str, gid: int) -> bool:
        """Record shared group ``name`` with ``gid``; return whether anything changed."""
        wanted = {**self._groups, name: gid}
        problem = find_group_conflict(wanted, self._users.values())
        if problem:
            raise InvalidInputError(
                _("cannot record group {name}: {problem}").format(name=name, problem=problem)
            )
        changed = self._groups.get(name) != gid
        self._groups = wanted
        return changed

    def document(self) -> RegistryDocument:
        """Everything as one validated document."""
        return RegistryDocument(
            generation=self.generation,
            users=dict(self._users),
            groups=self.groups(),
            retired=dict(sorted(self._retired.items())),
        )

    def retired(self) -> dict[str, int]:
        """Removed accounts and their last uid (never reused silently)."""
        return dict(sorted(self._retired.items()))

    def retire(self, name: str) -> bool:
        """Forget ``name`` but remember its uid; return whether it was registered."""
        entry = self._users.pop(name, None)
        if entry is None:
            return False
        self._retired[name] = entry.uid
        return True

    def get(self, name: str) -> RegistryEntry | None:
        """The entry for ``name``, or None."""
        return self._users.get(name)

    def entries(self) -> list[RegistryEntry]:
        """All entries, sorted by name."""
        return [self._users[name] for name in sorted(self._users)]

    def upsert(self, entry: RegistryEntry) -> bool:
        """Add or replace the entry of ``entry.name``; return whether anything changed.

        An existing entry keeps its ``created_at``; ``updated_at`` is set to now
        only when the account itself changed, so re-registering an unchanged
        account (as recovery does) writes nothing. Raises ``InvalidInputError``
        when the uid, or the primary group's gid, is recorded for another name.
        """
        others = [other for other in self._users.values() if other.name != entry.name]
        problem = find_conflict(entry, others) or find_group_conflict(self._groups, [entry])
        if problem:
            raise InvalidInputError(
                _("cannot register {name}: {problem}").format(name=entry.name, problem=problem)
            )
        existing = self._users.get(entry.name)
        if existing is not None and existing.same_account(entry):
            return False
        created = existing.created_at if existing is not None else entry.created_at
        if self._retired.get(entry.name) == entry.uid:  # the same person is back
            del self._retired[entry.name]
        self._users[entry.name] = entry.model_copy(
            update={"created_at": created, "updated_at": utc_now()}
        )
        return True

    def remove(self, name: str) -> bool:
        """Forget ``name``; return whether it was registered."""
        return self._users.pop(name, None) is not None


@contextmanager
def open_registry(path: Path, *, timeout: float = 30.0) -> Iterator[Registry]:
    """Lock the registry exclusively, load it, and save it on exit if it changed.

    A missing file is an empty registry. Nothing is written when the block
    raises. Raises ``RegistryError`` (unsafe or corrupt file) or
    ``LockBusyError`` (another process holds the lock after ``timeout`` s).
    """
    _check_directory(path.parent)
    with exclusive_lock(lock_path(path), timeout=timeout, what=_("the registry")):
        registry = Registry(path, _load(path))
        yield registry
        if registry.changed:
            registry.generation += 1
            _save(path, registry.document())


def read_registry(path: Path, *, timeout: float = 30.0) -> list[RegistryEntry]:
    """The entries sorted by name, read under a shared lock; never writes the registry."""
    _check_directory(path.parent)
    return sorted(read_document(path, timeout=timeout).users.values(), key=lambda e: e.name)


def read_document(path: Path, *, timeout: float = 30.0) -> RegistryDocument:
    """Users and groups, read under a shared lock; never writes the registry."""
    _check_directory(path.parent)
    with shared_lock(lock_path(path), timeout=timeout, what=_("the registry")):
        return _load(path)


def load_or_empty(path: Path) -> RegistryDocument:
    """The registry, or an empty one when no file exists yet (before the first record)."""
    return read_document(path) if path.exists() else RegistryDocument()


def lock_path(path: Path) -> Path:
    """The lock file next to the registry (``registry.json.lock``)."""
    return path.with_name(path.name + ".lock")


def render(entries: list[RegistryEntry] | RegistryDocument) -> bytes:
    """The file content: stable JSON with a trailing newline."""
    document = (
        entries
        if isinstance(entries, RegistryDocument)
        else RegistryDocument(users={entry.name: entry for entry in entries})
    )
    text = json.dumps(
        document.model_dump(mode="json"), sort_keys=True, indent=2, ensure_ascii=False
    )
    return (text + "\n").encode("utf-8")


def _save(path: Path, document: RegistryDocument) -> None:
    try:
        atomic_write(path, render(document), mode=0o600, uid=os.geteuid(), gid=os.getegid())
    except OSError as error:
        if is_squash_errno(error):
            raise squash_error(path.parent) from None
        raise


def read_timeout() -> float:
    """Seconds a registry read may take: ``DATAKEEPER_READ_TIMEOUT``, else 20."""
    try:
        value = float(os.environ.get(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT))
    except ValueError:
        return DEFAULT_READ_TIMEOUT
    return value if value > 0 else DEFAULT_READ_TIMEOUT


def _load(path: Path) -> RegistryDocument:
    data = with_deadline(lambda: _read_trusted(path), read_timeout(), path)
    if data is None:
        return RegistryDocument()
    return _copy(_parsed(path, data))


def _parsed(path: Path, data: bytes) -> RegistryDocument:
    """The validated document of ``data``, the file's bytes just read. The last one is
    kept: the same bytes give the same document, and one command may read the
    registry several times (a recovery, three), each parse and check a full pass
    over a thousand entries. Only a document that validated is kept."""
    global _LAST_PARSED
    last = _LAST_PARSED  # read once: the menu's workers read the registry from threads
    if last is not None and last[0] == data:
        return last[1]
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _corrupt(path, str(error)) from None
    try:
        document = RegistryDocument.model_validate(raw)
    except ValidationError as error:
        raise _corrupt(path, _first_problem(error)) from None
    _LAST_PARSED = (data, document)
    return document


_LAST_PARSED: tuple[bytes, RegistryDocument] | None = None


def _copy(document: RegistryDocument) -> RegistryDocument:
    """A document of its own for each reader: entries are frozen, but the three tables
    are plain dicts a caller could change."""
    return document.model_copy(
        update={
            "users": dict(document.users),
            "groups": dict(document.groups),
            "retired": dict(document.retired),
        }
    )


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"])
    return f"{location}: {first['msg']}" if location else first["msg"]


def _corrupt(path: Path, problem: str) -> RegistryError:
    return RegistryError(
        _(
            "registry {path} is invalid ({problem}); fix: repair it or restore it from"
            " /backup (datakeeper will not overwrite it)"
        ).format(path=path, problem=problem)
    )


def _read_trusted(path: Path) -> bytes | None:
    """The file's bytes after the ownership and mode checks; None if it does not exist."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as error:
        if is_squash_errno(error):
            raise squash_error(path.parent) from None
        if error.errno == errno.ELOOP:
            raise RegistryError(
                _(
                    "registry {path} is a symbolic link; fix: replace it with the file itself"
                ).format(path=path)
            ) from None
        raise
    with os.fdopen(fd, "rb") as stream:
        _check_file(os.fstat(stream.fileno()), path)
        return stream.read()


def _check_file(info: os.stat_result, path: Path) -> None:
    euid = os.geteuid()
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode):
        problem, fix = _("is not a regular file"), _("remove it")
    elif info.st_uid == NOBODY and euid == 0:
        problem = _("is owned by nobody (65534), not root")
        fix = _(
            "on NFS, export with no_root_squash and check that client and server share the "
            "NFSv4 idmap domain (/etc/idmapd.conf); then chown 0 {path}"
        ).format(path=path)
    elif info.st_uid != euid:
        problem = _("is owned by uid {uid}, not {euid}").format(uid=info.st_uid, euid=euid)
        fix = f"chown {euid} {path}"
    elif mode & 0o077:
        problem = _("is writable by others") if mode & 0o022 else _("is readable by others")
        problem += f" (mode {mode:04o})"
        fix = f"chmod 600 {path}"
    else:
        return
    raise RegistryError(
        _("registry {path} {problem}; fix: {fix}").format(path=path, problem=problem, fix=fix)
    )


def _check_directory(directory: Path) -> None:
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        raise RegistryError(
            _("registry directory {path} does not exist; fix: mkdir -m 700 {path}").format(
                path=directory
            )
        ) from None
    euid = os.geteuid()
    mode = stat.S_IMODE(info.st_mode)
    sticky_and_ours = bool(mode & stat.S_ISVTX) and info.st_uid == euid
    if not stat.S_ISDIR(info.st_mode):
        problem, fix = _("is not a directory"), _("point the registry path at a directory")
    elif info.st_uid not in (0, euid):
        problem = _("is owned by uid {uid}, who could replace the registry").format(uid=info.st_uid)
        fix = f"chown {euid} {directory}"
    elif mode & 0o022 and not sticky_and_ours:
        problem = _("is writable by others (mode {mode:04o}), who could replace the registry")
        problem = problem.format(mode=mode)
        fix = f"chmod go-w {directory}"
    else:
        return
    raise RegistryError(
        _("registry directory {path} {problem}; fix: {fix}").format(
            path=directory, problem=problem, fix=fix
        )
    )
