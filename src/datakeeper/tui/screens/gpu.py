"""GPUs: every GPU's load and memory, and who holds them (``datakeeper gpu``).

The admin sees every process and the totals per user; a researcher sees every
GPU's load, their own processes, and the other users' processes as counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widget import Widget

from datakeeper.i18n import _, ngettext
from datakeeper.sizes import human_size
from datakeeper.text import printable
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.bars import text_bar
from datakeeper.tui.widgets.textpanel import TextPanel

BAR = 20


class GpuScreen(FeatureScreen):
    """``datakeeper gpu`` (root: every process; anyone else: their own in detail)."""

    HEADING = _("GPUs")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "refresh", _("Refresh"))]

    def body(self) -> Iterable[Widget]:
        yield TextPanel(id="gpus")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(TextPanel).focus()
        self.action_refresh()

    @property
    def admin(self) -> bool:
        return getattr(self.app, "admin", True)

    def action_refresh(self) -> None:
        """Look at the GPUs again (in a worker: NVML can take a moment)."""
        self.call(
            _("looking at the GPUs"),
            self.features.gpu_view,
            mine_only=not self.admin,
            then=self._show,
        )

    def _show(self, view) -> None:
        snapshot = view.snapshot
        if not snapshot.available:
            self.query_one(TextPanel).show([snapshot.message])
            return
        lines = [line for gpu in snapshot.gpus for line in _gpu_lines(gpu)]
        if self.admin:
            lines += _process_lines(_("Processes"), view.mine)
            lines += _total_lines(view.totals())
        else:
            lines += _process_lines(_("Your processes"), view.mine)
            lines += _other_lines(view.others)
            lines += ["", _("Pick a GPU with CUDA_VISIBLE_DEVICES: see 'datakeeper guide gpu'.")]
        self.query_one(TextPanel).show(lines)


def _gpu_lines(gpu) -> list[str]:
    """Two lines per GPU: name, temperature and power; load and memory as bars."""
    temp = "-" if gpu.temperature is None else f"{gpu.temperature}°C"
    power = "-" if gpu.power_watts is None else f"{gpu.power_watts:.0f} W"
    util = gpu.utilization
    load = text_bar((util or 0) / 100, BAR // 2) + (" -  " if util is None else f"{util:3d}%")
    used = gpu.memory_used / gpu.memory_total if gpu.memory_total else 0
    memory = _("{used} of {total}").format(
        used=human_size(gpu.memory_used), total=human_size(gpu.memory_total)
    )
    return [
        f"GPU {gpu.index}  {printable(gpu.name)}  {temp}  {power}",
        f"  {_('load')} {load}  {_('memory')} {text_bar(used, BAR // 2)} {memory}",
    ]


def _memory(process) -> str:
    return _("unknown") if process.used_memory is None else human_size(process.used_memory)


def _process_lines(title: str, processes) -> list[str]:
    if not processes:
        return ["", title, "  " + _("none")]
    lines = ["", title, "  " + _("GPU  pid      user          memory      command")]
    for p in sorted(processes, key=lambda p: (p.gpu, -(p.used_memory or 0))):
        command = printable(p.command) if p.command else "-"
        lines.append(f"  {p.gpu:<4} {p.pid:<8} {p.owner:<13} {_memory(p):<11} {command}")
    return lines


def _total_lines(totals) -> list[str]:
    lines = ["", _("Per user")]
    for t in totals:
        gpus = ", ".join(str(i) for i in sorted(t.gpus))
        lines.append(
            "  "
            + ngettext(
                "{user:<13} {memory:>10}  GPU {gpus}  {n} process",
                "{user:<13} {memory:>10}  GPU {gpus}  {n} processes",
                t.processes,
            ).format(user=t.owner, memory=human_size(t.memory), gpus=gpus, n=t.processes)
        )
    return lines


def _other_lines(others: dict[int, int]) -> list[str]:
    if not others:
        return ["", _("No other user has a process on a GPU.")]
    lines = ["", _("Other users")]
    for gpu, count in sorted(others.items()):
        line = ngettext("GPU {gpu}: {n} process", "GPU {gpu}: {n} processes", count)
        lines.append("  " + line.format(gpu=gpu, n=count))
    return lines
