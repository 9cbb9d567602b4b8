"""systemd as a service manager: is it running, where units go, ``systemctl`` verbs.

Only a system booted with systemd as PID 1 has ``/run/systemd/system``
(sd_booted(3)); containers and the test sandbox often do not, and callers
fall back to cron there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datakeeper.system import commands

RUN_DIR = Path("/run/systemd/system")
UNIT_DIR = Path("/etc/systemd/system")


def is_running(run_dir: Path = RUN_DIR) -> bool:
    """True when systemd manages this system (the test sd_booted() makes)."""
    return run_dir.is_dir()


def is_installed() -> bool:
    """True when ``systemctl`` exists: ``enable`` and ``disable`` then work even while
    systemd is not running (they only make or remove links), so an image prepared
    offline boots with the units on."""
    return shutil.which("systemctl") is not None


def mount_unit(path: str | Path) -> str:
    """The name of the mount unit of ``path`` (``systemd-escape --path --suffix=mount``):
    "/backup" -> "backup.mount", "/mnt/my-disk" -> "mnt-my\\x2ddisk.mount"."""
    parts = [part for part in str(path).split("/") if part]
    if not parts:
        return "-.mount"
    escaped = "-".join(_escape(part) for part in parts)
    # A leading "." would make a hidden name: systemd escapes it too.
    return ("\\x2e" + escaped[1:] if escaped.startswith(".") else escaped) + ".mount"


def _escape(part: str) -> str:
    """One path element: "-", spaces and non-ASCII as \\xNN (systemd.unit(5))."""
    return "".join(
        char if char.isascii() and (char.isalnum() or char in ":_.") else _hex(char)
        for char in part
    )


def _hex(char: str) -> str:
    return "".join(f"\\x{byte:02x}" for byte in char.encode())


def daemon_reload() -> None:
    """Make systemd read the unit files again."""
    commands.run(["systemctl", "daemon-reload"])


def enable(*units: str, now: bool = False) -> None:
    """Enable ``units`` at boot (``now``: and start them at once)."""
    commands.run(["systemctl", "enable", *_now(now), *units])


def disable(*units: str, now: bool = False) -> None:
    """Disable ``units`` at boot (``now``: and stop them, waiting for them to stop)."""
    commands.run(["systemctl", "disable", *_now(now), *units])


def start(*units: str) -> None:
    """Start ``units`` now."""
    commands.run(["systemctl", "start", *units])


def stop(*units: str, wait: bool = True) -> None:
    """Stop ``units``; without ``wait`` the job is queued and this returns at once."""
    commands.run(["systemctl", "stop", *([] if wait else ["--no-block"]), *units])


def _now(now: bool) -> list[str]:
    return ["--now"] if now else []


@dataclass(frozen=True)
class UnitState:
    """systemd's view of one unit: the words ``is-enabled`` and ``is-active`` print, and
    ``needs_reload`` ("yes" when its file changed since systemd read it)."""

    enabled: str
    active: str
    needs_reload: str

    @property
    def is_enabled(self) -> bool:
        """Enabled at boot (for good, not only until the next boot)."""
        return self.enabled == "enabled"

    @property
    def partly_on(self) -> bool:
        """Enabled in any way, or running or starting."""
        return self.enabled.startswith("enabled") or self.active in ("active", "activating")

    @property
    def stale(self) -> bool:
        """Its file changed on disk since systemd last read it."""
        return self.needs_reload == "yes"

    def as_dict(self) -> dict[str, str]:
        """JSON-able (the keys ``recovery status`` and ``disk alert status`` print)."""
        return {"enabled": self.enabled, "active": self.active, "needs_reload": self.needs_reload}


def unit_state(unit: str) -> UnitState:
    """``is-enabled``, ``is-active`` and whether files changed since systemd read them.

    The verbs exit non-zero for a unit that is disabled or inactive; the word
    they print is the answer, so the exit status is not an error here.
    """
    queries = {
        "enabled": ["is-enabled", unit],
        "active": ["is-active", unit],
        "needs_reload": ["show", "--property=NeedDaemonReload", "--value", unit],
    }
    state = {}
    for key, args in queries.items():
        try:
            result = subprocess.run(
                ["systemctl", *args], capture_output=True, text=True, timeout=30, check=False
            )
            state[key] = result.stdout.strip() or "unknown"
        except (OSError, subprocess.SubprocessError):
            state[key] = "unknown"
    return UnitState(**state)


_PLAIN = re.compile(r"[A-Za-z0-9_@+=:,./-]+")


def exec_line(argv: Sequence[str]) -> str:
    """``argv`` as an ``ExecStart=`` value: quoted as systemd.syntax(7) reads it.

    ``%`` starts a specifier and ``$`` a variable in unit files, so both are doubled.
    """
    words = []
    for arg in argv:
        word = arg.replace("%", "%%").replace("$", "$$")
        if not _PLAIN.fullmatch(arg):
            word = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
        words.append(word)
    return " ".join(words)


def oneshot_service(description: str, argv: Sequence[str]) -> str:
    """A unit that runs ``argv`` once each time it is started (by a timer)."""
    return (
        f"[Unit]\nDescription={_text(description)}\n\n"
        f"[Service]\nType=oneshot\nExecStart={exec_line(argv)}\n"
    )


def calendar_timer(description: str, on_calendar: str, service: str) -> str:
    """A timer starting ``service`` on ``on_calendar`` ("hourly"), catching up after downtime."""
    return (
        f"[Unit]\nDescription={_text(description)}\n\n"
        f"[Timer]\nOnCalendar={on_calendar}\nPersistent=true\nUnit={service}\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )


def _text(value: str) -> str:
    """A free-text value on one line, specifiers escaped."""
    return " ".join(value.split()).replace("%", "%%")
