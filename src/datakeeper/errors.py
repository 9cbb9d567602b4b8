"""Typed errors raised by library code; only front ends turn them into exit codes.

Exit codes (documented in the README):
    0  success
    1  an action failed, or a check found a problem (e.g. disk above threshold)
    2  invalid usage, input or configuration: nothing was changed
    3  refused: the system is not in a state where acting is safe
       (storage not mounted, conflicting account, not root): nothing was changed
    4  another datakeeper holds the lock: nothing was changed
  130  interrupted
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    INVALID = 2
    REFUSED = 3
    BUSY = 4
    INTERRUPTED = 130


class DatakeeperError(Exception):
    """Base of every error datakeeper reports to a person as one line."""

    exit_code: ExitCode = ExitCode.FAILURE


class InvalidInputError(DatakeeperError):
    """Bad user input (argument, name, key): names the field and the fix."""

    exit_code = ExitCode.INVALID


class ConfigError(InvalidInputError):
    """The site config is missing, unreadable or invalid."""


class RefusedError(DatakeeperError):
    """Acting now would be unsafe; nothing was changed."""

    exit_code = ExitCode.REFUSED


class StorageNotPersistentError(RefusedError):
    """A storage root is not the persistent disk (not mounted, no marker)."""


class ConflictError(RefusedError):
    """The actual state contradicts the desired state in a way we must not guess about."""


class NotRootError(RefusedError):
    """The operation needs root."""


class LockBusyError(DatakeeperError):
    """Another datakeeper process holds the lock."""

    exit_code = ExitCode.BUSY


class CommandError(DatakeeperError):
    """A system command failed; the message carries its (masked) output."""


class RegistryError(DatakeeperError):
    """The registry file is unreadable or invalid."""


class StorageTimeoutError(DatakeeperError):
    """Shared storage (an NFS server) did not answer a read in time."""


class ActionFailedError(DatakeeperError):
    """Applying a planned change failed at the OS level (permission, disk full, …)."""
