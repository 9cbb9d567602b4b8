"""Run system commands as argument lists, with secrets masked in every message."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from datakeeper.errors import CommandError
from datakeeper.i18n import _
from datakeeper.system.masking import MASK, mask_secrets

__all__ = ["MASK", "Command", "CommandError", "CommandFailed", "run"]


@dataclass(frozen=True)
class Command:
    """One invocation of a system tool; ``secrets`` never appear when it is shown."""

    argv: tuple[str, ...]
    input: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def display(self) -> str:
        """The command line as a person should see it, secrets replaced by ``***``."""
        return mask_secrets(shlex.join(self.argv), self.secrets)


def run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    secrets: Sequence[str] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; raise ``CommandError`` (masked, one line) when it fails."""
    command = Command(tuple(argv), input, tuple(secrets))
    try:
        result = subprocess.run(
            command.argv, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as error:
        raise CommandError(
            _("{cmd}: program not found; install it or fix PATH").format(cmd=argv[0])
        ) from error
    except subprocess.TimeoutExpired as error:
        raise CommandError(
            _("{cmd}: no answer after {s} s").format(cmd=command.display(), s=timeout)
        ) from error
    if result.returncode != 0:
        raise CommandFailed(command, result.returncode, result.stdout, result.stderr)
    return result


class CommandFailed(CommandError):
    """A command exited non-zero; keeps the exit status for callers that map it."""

    def __init__(self, command: Command, returncode: int, stdout: str, stderr: str) -> None:
        self.command = command
        self.returncode = returncode
        self.output = mask_secrets((stderr or stdout).strip(), command.secrets)
        detail = " ".join(self.output.split())
        super().__init__(
            _("{cmd} failed (exit {rc}): {detail}").format(
                cmd=command.display(), rc=returncode, detail=detail or _("no output")
            )
        )
