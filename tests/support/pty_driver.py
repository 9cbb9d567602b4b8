"""Answer a program's prompts on a terminal, like a person typing (runs inside a server).

Usage: ``python -m tests.support.pty_driver JSON`` where JSON is
``{"argv": [...], "dialog": [["Prompt text", "answer"], ...], "timeout": 20}``.
Password prompts flush pending input when they turn echo off, so each answer
is sent only once its prompt has appeared. Prints the transcript; exits with
the program's exit status.
"""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time


def _read_until(fd: int, wanted: str, transcript: list[str], deadline: float) -> bool:
    while time.monotonic() < deadline:
        if wanted in "".join(transcript):
            return True
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            transcript.append(chunk.decode(errors="replace"))
    return False


def main() -> int:
    spec = json.loads(sys.argv[1])
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(spec["argv"][0], spec["argv"])
    transcript: list[str] = []
    deadline = time.monotonic() + spec.get("timeout", 20)
    for prompt, answer in spec["dialog"]:
        if not _read_until(fd, prompt, transcript, deadline):
            break
        consumed = "".join(transcript)
        transcript[:] = [consumed[consumed.index(prompt) + len(prompt) :]]
        sys.stdout.write(consumed[: consumed.index(prompt) + len(prompt)])
        os.write(fd, (answer + "\n").encode())
    _read_until(fd, "\x00never\x00", transcript, min(deadline, time.monotonic() + 5))
    sys.stdout.write("".join(transcript))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
