"""One look at the GPUs: each GPU's figures and its processes, mapped to users.

A process is mapped to its user through the real uid in ``/proc/<pid>/status``
(NVML reports pids as the host sees them). A pid that has no ``/proc`` entry
here belongs to another pid namespace (a container) and is labelled so. User
and command names come from other people's processes: they are kept as found
and escaped (``printable``) wherever they are shown.
"""

from __future__ import annotations

import pwd
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datakeeper.i18n import _
from datakeeper.system.nvml import GpuBackend, GpuFigures, GpuReading, NvmlBackend, read_gpus
from datakeeper.text import printable

PROC = Path("/proc")
STATUS_LIMIT = 64 * 1024  # /proc/<pid>/status is ~1.5 KiB


def no_gpu_line() -> str:
    """The one line a server without an NVIDIA GPU or driver gets."""
    return _("no NVIDIA GPU or driver found on this server")


@dataclass(frozen=True)
class GpuProcess:
    """A process holding a GPU context, with its owner when this pid namespace sees it."""

    pid: int
    gpu: int
    used_memory: int | None  # bytes; None when NVML cannot tell (NVML_VALUE_NOT_AVAILABLE)
    uid: int | None
    user: str | None
    command: str
    visible: bool  # False: not in this pid namespace (another container's process)

    @property
    def owner(self) -> str:
        """Who a person reads as the owner."""
        if not self.visible:
            return _("(outside this pid namespace)")
        return printable(self.user if self.user is not None else f"uid {self.uid}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "gpu": self.gpu,
            "used_memory": self.used_memory,
            "uid": self.uid,
            "user": None if self.user is None else printable(self.user),
            "command": printable(self.command),
            "visible": self.visible,
        }


@dataclass
class GpuSnapshot:
    """Every GPU and the processes on it at ``taken_at`` (or why there is nothing)."""

    available: bool
    taken_at: float
    reason: str = ""
    driver: str = ""
    gpus: list[GpuFigures] = field(default_factory=list)
    processes: list[GpuProcess] = field(default_factory=list)

    @property
    def message(self) -> str:
        """The one line shown instead of the GPUs when there are none ("" otherwise)."""
        return "" if self.available else no_gpu_line()

    def on_gpu(self, index: int) -> list[GpuProcess]:
        """The processes on GPU ``index``, largest memory first."""
        found = [p for p in self.processes if p.gpu == index]
        return sorted(found, key=lambda p: -(p.used_memory or 0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "reason": self.reason,
            "driver": self.driver,
            "taken_at": self.taken_at,
            "message": self.message,
            "gpus": [g.as_dict() for g in self.gpus],
            "processes": [p.as_dict() for p in self.processes],
        }


def take_snapshot(
    backend: GpuBackend | None = None,
    *,
    proc: Path = PROC,
    clock: Callable[[], float] = time.time,
    user_name: Callable[[int], str | None] | None = None,
) -> GpuSnapshot:
    """Read the GPUs (the real NVML unless ``backend``) and map every process to a user
    (``proc``, ``clock`` and ``user_name`` stand in for /proc, the time and pwd in tests)."""
    reading = read_gpus(NvmlBackend() if backend is None else backend)
    return from_reading(reading, proc=proc, taken_at=clock(), user_name=user_name or _user_name)


def from_reading(
    reading: GpuReading,
    *,
    proc: Path,
    taken_at: float,
    user_name: Callable[[int], str | None],
) -> GpuSnapshot:
    """``reading`` with each pid's owner and command looked up under ``proc``."""
    snapshot = GpuSnapshot(
        available=reading.available,
        taken_at=taken_at,
        reason=reading.reason,
        driver=reading.driver,
        gpus=list(reading.gpus),
    )
    for found in reading.processes:
        uid, command = _owner(proc / str(found.pid))
        snapshot.processes.append(
            GpuProcess(
                pid=found.pid,
                gpu=found.gpu,
                used_memory=found.used_memory,
                uid=uid,
                user=None if uid is None else user_name(uid),
                command=command,
                visible=uid is not None,
            )
        )
    return snapshot


def _owner(entry: Path) -> tuple[int | None, str]:
    """(real uid, command name) from ``/proc/<pid>/status``; (None, "") when absent."""
    try:
        with open(entry / "status", "rb") as handle:
            text = handle.read(STATUS_LIMIT).decode("utf-8", "surrogateescape")
    except OSError:
        return None, ""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        uid = int(fields.get("Uid", "").split()[0])
    except (IndexError, ValueError):
        return None, ""
    return uid, fields.get("Name", "").strip()


def _user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None  # an id without an account (a container's user)
