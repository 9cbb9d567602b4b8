"""A ``GpuBackend`` driven by plain data, and a fake ``/proc`` to map its pids to users.

The real backend is ``datakeeper.system.nvml.NvmlBackend`` (nvidia-ml-py); this one
answers the same calls from lists, so the GPU view is tested without a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datakeeper.system.nvml import CallMissingError, GpuFigures, NoGpuError

GIB = 1024**3


def figures(index: int, used_gib: float, util: int | None, name: str = "NVIDIA A100") -> GpuFigures:
    """One 80 GiB GPU with ``used_gib`` in use at ``util`` percent."""
    return GpuFigures(
        index=index,
        name=name,
        uuid=f"GPU-{index:04d}",
        memory_used=int(used_gib * GIB),
        memory_total=80 * GIB,
        utilization=util,
        temperature=40 + index,
        power_watts=100.0 + index,
    )


@dataclass
class FakeGpuBackend:
    """GPUs and their processes as data; ``calls`` are the process calls the driver has
    (a driver without v3: ``(2, 1)``); ``missing`` makes ``start`` fail like NVML does."""

    gpus: list[GpuFigures] = field(default_factory=list)
    running: dict[int, list[tuple[int, int | None]]] = field(default_factory=dict)
    calls: tuple[int, ...] = (3, 2, 1)
    missing: str | None = None
    asked: list[tuple[int, int]] = field(default_factory=list)  # (gpu, call) in order
    stopped: bool = False

    def start(self) -> None:
        if self.missing is not None:
            raise NoGpuError(self.missing)

    def stop(self) -> None:
        self.stopped = True

    def driver_version(self) -> str:
        return "550.54.15"

    def device_count(self) -> int:
        return len(self.gpus)

    def figures(self, index: int) -> GpuFigures:
        return self.gpus[index]

    def processes(self, index: int, call: int) -> list[tuple[int, int | None]]:
        self.asked.append((index, call))
        if call not in self.calls:
            raise CallMissingError(call)
        return list(self.running.get(index, []))


def fake_proc(root: Path, owners: dict[int, tuple[int, str]]) -> Path:
    """A /proc with ``status`` files for ``owners`` (pid -> (uid, command))."""
    for pid, (uid, command) in owners.items():
        entry = root / str(pid)
        entry.mkdir(parents=True)
        (entry / "status").write_text(
            f"Name:\t{command}\nState:\tS (sleeping)\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
        )
    return root
