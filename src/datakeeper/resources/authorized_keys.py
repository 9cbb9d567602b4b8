"""``~/.ssh/authorized_keys`` holding given keys, with the modes sshd's StrictModes needs.

The home, ``.ssh`` and the key file belong to the user, who can race us there:
every write goes through descriptors (``O_DIRECTORY|O_NOFOLLOW`` for directories,
``O_NOFOLLOW`` for files, relative to the parent's descriptor), and the file is
replaced by a new one written next to it and renamed, never written in place.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError, InvalidInputError
from datakeeper.i18n import _, ngettext
from datakeeper.resources.ownership import Ownership, actual_ownership, lstat_or_none
from datakeeper.system.sshkeys import MAX_KEYS_FILE, parse_key_line, read_user_file

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
KEYS_FILE = "authorized_keys"
GROUP_OTHER_WRITE = 0o022


@dataclass(frozen=True)
class _KeysFileBase(Resource):
    """What adding and removing keys share: paths, ownership, pinned descriptors."""

    home: Path
    user: str
    group: str

    @property
    def id(self) -> str:
        return f"ssh keys {self.home}"

    def touches(self) -> tuple[Path, ...]:
        return (self.home, self.home / ".ssh", self.home / ".ssh" / KEYS_FILE)

    def canonical_home(self) -> Path:
        """The home as sshd checks it (``/home/u`` -> ``/data/users/u``)."""
        return state.realpath(self.home)

    def file_ownership(self) -> Ownership:
        return Ownership(self.user, self.group, 0o600)

    def dir_ownership(self) -> Ownership:
        return Ownership(self.user, self.group, 0o700)

    def keys_path(self) -> Path:
        return self.canonical_home() / ".ssh" / KEYS_FILE

    def current_text(self) -> str:
        """Content of the keys file ("" when absent); refuses a symlink or a non-file."""
        path = self.keys_path()
        info = lstat_or_none(path)
        if info is None:
            return ""
        if not stat.S_ISREG(info.st_mode):
            raise ConflictError(
                _("{path} is a symlink or not a regular file; move it away and run again").format(
                    path=path
                )
            )
        found = state.on_disk(path)  # in a dry run: maybe still in the home to be merged
        return (read_user_file(found) if found is not None else None) or ""

    @contextlib.contextmanager
    def pinned_ssh_dir(self) -> Iterator[int]:
        """A descriptor of the real ``.ssh`` inside the real home, after checking both."""
        with _opened(self.canonical_home(), DIR_FLAGS) as home_fd:
            self._check_home_owner(os.fstat(home_fd))
            with _opened(".ssh", DIR_FLAGS, dir_fd=home_fd) as ssh_fd:
                yield ssh_fd

    def _check_home_owner(self, info: os.stat_result) -> None:
        """Write only into a home the user owns (a planted link may point elsewhere)."""
        uid = self.file_ownership().uid()
        if uid is not None and not state.is_planned_id(uid) and info.st_uid != uid:
            raise ConflictError(
                _(
                    "{home} belongs to uid {owner}, not to {user}; keys are written only into "
                    "a home the user owns (fix the owner and run again)"
                ).format(home=self.canonical_home(), owner=info.st_uid, user=self.user)
            )

    def write_keys(self, ssh_fd: int, text: str) -> None:
        """Replace the keys file with ``text``: new file, fchown/fchmod, fsync, rename."""
        temp = f".{KEYS_FILE}.datakeeper-{secrets.token_hex(8)}"
        fd = os.open(temp, NEW_FLAGS, 0o600, dir_fd=ssh_fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                self.file_ownership().apply_to_fd(fd)
                handle.write(text.encode("utf-8", "surrogateescape"))
                handle.flush()
                os.fsync(fd)
            os.rename(temp, KEYS_FILE, src_dir_fd=ssh_fd, dst_dir_fd=ssh_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=ssh_fd)
            raise
        os.fsync(ssh_fd)

    def read_keys(self, ssh_fd: int) -> str:
        """The keys file read through ``ssh_fd`` ("" when absent)."""
        try:
            fd = os.open(KEYS_FILE, READ_FLAGS, dir_fd=ssh_fd)
        except FileNotFoundError:
            return ""
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ConflictError(_("{path} is not a regular file").format(path=self.keys_path()))
            data = handle.read(MAX_KEYS_FILE + 1)
        if len(data) > MAX_KEYS_FILE:
            raise ConflictError(
                _("{path} is over 1 MiB; clean it up").format(path=self.keys_path())
            )
        return data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class AuthorizedKeys(_KeysFileBase):
    """``home/.ssh/authorized_keys`` contains every line of ``keys`` (others are kept).

    Keys are compared by their data, not their comment or options. ``home`` may
    be the ``/home/NAME`` link: the real home it points to is what sshd checks
    (owned by the user or root, not group/other-writable), and what is fixed.
    """

    keys: tuple[str, ...] = ()

    def plan(self) -> list[Change]:
        home = self.canonical_home()
        changes = []
        info = lstat_or_none(home)
        if info is not None:
            changes += self._plan_home(home, info)
        changes += self._plan_ssh_dir(home / ".ssh")
        changes += self._plan_file()
        return changes

    def wanted(self) -> dict[str, str]:
        """Fingerprint -> line for every wanted key."""
        found = {}
        for line in self.keys:
            parsed = parse_key_line(line)
            if parsed is None:
                raise InvalidInputError(_("not a public key line: {line}").format(line=line[:60]))
            found.setdefault(parsed.fingerprint, line.strip())
        return found

    def missing(self, text: str) -> dict[str, str]:
        """The wanted keys ``text`` does not hold yet."""
        present = {k.fingerprint for k in map(parse_key_line, text.split("\n")) if k}
        return {fp: line for fp, line in self.wanted().items() if fp not in present}

    def _plan_home(self, home: Path, info: os.stat_result) -> list[Change]:
        if not stat.S_ISDIR(info.st_mode):
            raise ConflictError(_("{home} is not a directory").format(home=home))
        self._check_home_owner(info)
        mode = stat.S_IMODE(info.st_mode)
        if not mode & GROUP_OTHER_WRITE:
            return []
        summary = _(
            "make {home} not group- or other-writable ({a:04o} -> {b:04o}): OpenSSH's "
            "StrictModes refuses key logins to a home that others can write"
        ).format(home=home, a=mode, b=mode & ~GROUP_OTHER_WRITE)
        after = {"mode": f"{mode & ~GROUP_OTHER_WRITE:04o}"}
        return [Change(self.id, summary, self._fix_home, {"mode": f"{mode:04o}"}, after)]

    def _plan_ssh_dir(self, path: Path) -> list[Change]:
        info = lstat_or_none(path)
        wanted = self.dir_ownership()
        if info is None:
            summary = _("create {path} ({how})").format(path=path, how=wanted.describe())
            effects = (wanted.directory_at(path),)
            return [Change(self.id, summary, self._create_ssh_dir, None, wanted.as_dict(), effects)]
        if not stat.S_ISDIR(info.st_mode):
            raise ConflictError(
                _("{path} is a symlink or not a directory; move it away and run again").format(
                    path=path
                )
            )
        differences = wanted.differences(info)
        if not differences:
            return []
        summary = _("fix {path}: {what}").format(path=path, what=", ".join(differences))
        return [
            Change(self.id, summary, self._fix_ssh_dir, actual_ownership(info), wanted.as_dict())
        ]

    def _plan_file(self) -> list[Change]:
        path = self.keys_path()
        missing = self.missing(self.current_text())
        info = lstat_or_none(path)
        wanted = self.file_ownership()
        if missing:
            summary = ngettext(
                "add {n} SSH key to {path} ({how}): {fps}",
                "add {n} SSH keys to {path} ({how}): {fps}",
                len(missing),
            ).format(n=len(missing), path=path, how=wanted.describe(), fps=", ".join(missing))
            after = {**wanted.as_dict(), "added": list(missing)}
            return [Change(self.id, summary, self._add_keys, None, after)]
        differences = wanted.differences(info) if info else []
        if not differences:
            return []
        summary = _("fix {path}: {what}").format(path=path, what=", ".join(differences))
        return [Change(self.id, summary, self._fix_file, actual_ownership(info), wanted.as_dict())]

    # -- actions ---------------------------------------------------------------

    def _fix_home(self) -> None:
        with _opened(self.canonical_home(), DIR_FLAGS) as fd:
            info = os.fstat(fd)
            self._check_home_owner(info)
            os.fchmod(fd, stat.S_IMODE(info.st_mode) & ~GROUP_OTHER_WRITE)

    def _create_ssh_dir(self) -> None:
        with _opened(self.canonical_home(), DIR_FLAGS) as home_fd:
            self._check_home_owner(os.fstat(home_fd))
            os.mkdir(".ssh", 0o700, dir_fd=home_fd)
            with _opened(".ssh", DIR_FLAGS, dir_fd=home_fd) as fd:
                self.dir_ownership().apply_to_fd(fd)

    def _fix_ssh_dir(self) -> None:
        with self.pinned_ssh_dir() as fd:
            self.dir_ownership().apply_to_fd(fd)

    def _add_keys(self) -> None:
        with self.pinned_ssh_dir() as ssh_fd:
            text = self.read_keys(ssh_fd)
            missing = self.missing(text)
            if text and not text.endswith("\n"):
                text += "\n"
            self.write_keys(ssh_fd, text + "".join(f"{line}\n" for line in missing.values()))

    def _fix_file(self) -> None:
        with self.pinned_ssh_dir() as ssh_fd, _opened(KEYS_FILE, READ_FLAGS, dir_fd=ssh_fd) as fd:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                self.file_ownership().apply_to_fd(fd)
                return
        with self.pinned_ssh_dir() as ssh_fd:  # a hard link: give the user a copy of their own
            self.write_keys(ssh_fd, self.read_keys(ssh_fd))


@dataclass(frozen=True)
class RemovedKeys(_KeysFileBase):
    """``home/.ssh/authorized_keys`` holds none of the keys with these ``fingerprints``."""

    fingerprints: tuple[str, ...] = ()

    def plan(self) -> list[Change]:
        _text, removed = remove_keys(self.current_text(), self.fingerprints)
        if not removed:
            return []
        summary = ngettext(
            "remove {n} SSH key from {path}: {fps}",
            "remove {n} SSH keys from {path}: {fps}",
            len(removed),
        ).format(n=len(removed), path=self.keys_path(), fps=", ".join(removed))
        return [Change(self.id, summary, self._remove, {"keys": list(removed)}, {"keys": []})]

    def _remove(self) -> None:
        with self.pinned_ssh_dir() as ssh_fd:
            text, removed = remove_keys(self.read_keys(ssh_fd), self.fingerprints)
            if removed:
                self.write_keys(ssh_fd, text)


def remove_keys(text: str, fingerprints: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """``text`` without the lines whose key has one of ``fingerprints``; and those removed.

    Every other line (comments, options, keys the user added) is kept as it is.
    """
    kept, removed = [], []
    for line in text.split("\n"):
        parsed = parse_key_line(line)
        if parsed is not None and parsed.fingerprint in fingerprints:
            removed.append(parsed.fingerprint)
        else:
            kept.append(line)
    return "\n".join(kept), tuple(dict.fromkeys(removed))


@contextlib.contextmanager
def _opened(path: Path | str, flags: int, *, dir_fd: int | None = None) -> Iterator[int]:
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)
