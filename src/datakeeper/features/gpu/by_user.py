"""GPU memory and GPUs per user (``datakeeper gpu --by-user``), and a researcher's view.

A researcher sees every GPU's load and the details of their own processes only;
other people's processes are counted per GPU, not named.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from datakeeper.features.gpu.snapshot import GpuProcess, GpuSnapshot


@dataclass
class UserTotal:
    """One owner's share: memory (bytes NVML reported), the GPUs used, processes."""

    owner: str  # as shown: the user name, "uid N", or the outside-namespace label
    uid: int | None
    memory: int = 0
    unknown_memory: int = 0  # processes whose memory NVML could not tell
    gpus: set[int] = field(default_factory=set)
    processes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.owner,
            "uid": self.uid,
            "used_memory": self.memory,
            "processes_without_memory": self.unknown_memory,
            "gpus": sorted(self.gpus),
            "processes": self.processes,
        }


def totals_by_user(snapshot: GpuSnapshot) -> list[UserTotal]:
    """Every owner with their totals, most memory first."""
    totals: dict[tuple[int | None, str], UserTotal] = {}
    for process in snapshot.processes:
        key = (process.uid, process.owner)
        total = totals.setdefault(key, UserTotal(process.owner, process.uid))
        total.processes += 1
        total.gpus.add(process.gpu)
        if process.used_memory is None:
            total.unknown_memory += 1
        else:
            total.memory += process.used_memory
    return sorted(totals.values(), key=lambda t: (-t.memory, t.owner))


@dataclass
class ViewerView:
    """What one user is shown: every GPU, their own processes, the others as counts."""

    snapshot: GpuSnapshot
    mine: list[GpuProcess]
    others: dict[int, int]  # GPU index -> how many processes of other users

    def totals(self) -> list[UserTotal]:
        """``totals_by_user`` of the processes this viewer sees."""
        return totals_by_user(replace(self.snapshot, processes=list(self.mine)))

    def as_dict(self) -> dict[str, Any]:
        data = self.snapshot.as_dict()
        data["processes"] = [p.as_dict() for p in self.mine]
        data["other_processes"] = {str(gpu): n for gpu, n in sorted(self.others.items())}
        return data


def for_viewer(snapshot: GpuSnapshot, uid: int) -> ViewerView:
    """``snapshot`` as the user ``uid`` may see it (root sees everything)."""
    if uid == 0:
        return ViewerView(snapshot, list(snapshot.processes), {})
    mine = [p for p in snapshot.processes if p.uid == uid]
    others: dict[int, int] = {}
    for process in snapshot.processes:
        if process.uid != uid:
            others[process.gpu] = others.get(process.gpu, 0) + 1
    return ViewerView(snapshot, mine, others)
