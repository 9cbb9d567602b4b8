"""``datakeeper gpu``: each GPU's load and who holds it; per user; idle holders; live."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, replace
from typing import Annotated, Any, Optional

import typer

from datakeeper.cli.argv import optional_value
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table, stdout_console
from datakeeper.i18n import _, ngettext
from datakeeper.sizes import human_size
from datakeeper.text import printable

# The GPU features (pynvml, the sample file) are imported inside the command: at the top
# they would slow every start-up, `datakeeper --help` included.

DEFAULT_IDLE_MINUTES = 30
DEFAULT_WATCH_SECONDS = 2
optional_value("gpu", "--idle", str(DEFAULT_IDLE_MINUTES))
optional_value("gpu", "--watch", str(DEFAULT_WATCH_SECONDS))


def gpu(
    ctx: typer.Context,
    by_user: Annotated[
        bool, typer.Option("--by-user", help=_("GPU memory and GPUs per user."))
    ] = False,
    idle: Annotated[
        Optional[int],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option(
            "--idle",
            min=1,
            metavar="[MINUTES]",
            help=_("Processes holding memory on a GPU at 0% for MINUTES [30] or more."),
        ),
    ] = None,
    watch: Annotated[
        Optional[float],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option(
            "--watch",
            min=0.5,
            metavar="[SECONDS]",
            help=_("Refresh every SECONDS [2] until Ctrl-C."),
        ),
    ] = None,
    alert: Annotated[
        bool,
        typer.Option(
            "--alert", help=_("Apply the [gpu] idle_minutes rule: log, hook, exit 1 (root).")
        ),
    ] = False,
) -> None:
    """Each GPU and the processes on it, with their users."""
    options = global_options(ctx)
    request = _Request(by_user, idle, alert, options.json_output, options.dry_run)
    if alert:
        request.load_rule(ctx)
    if watch is None:
        raise typer.Exit(_show_once(request))
    _watch(request, watch)


class _Request:
    """What one run asks for, and the pieces it needs (loaded when the command runs)."""

    def __init__(self, by_user, idle, alert, json_output, dry_run) -> None:
        self.by_user, self.idle, self.alert = by_user, idle, alert
        self.json_output, self.dry_run = json_output, dry_run
        self.cfg = None

    def load_rule(self, ctx: typer.Context) -> None:
        """--alert: root only, and the site must have the rule."""
        # Imported when the command runs: the config and the engine slow start-up.
        from datakeeper.cli.common import site_config
        from datakeeper.engine.session import require_root
        from datakeeper.features.gpu.alert import rule_minutes

        require_root("gpu --alert")
        self.cfg = site_config(ctx, missing_ok=True)
        rule_minutes(self.cfg)

    def gather(self) -> _Shown:
        """One look at the GPUs, with what was asked for."""
        # Imported when the command runs (start-up cost, see the note at the top).
        from datakeeper.features.gpu import by_user, idle
        from datakeeper.features.gpu.snapshot import take_snapshot

        snapshot = take_snapshot()
        shown = _Shown(by_user.for_viewer(snapshot, os.geteuid()))
        if not snapshot.available:
            return shown
        visible = replace(snapshot, processes=list(shown.view.mine))
        if self.by_user:
            shown.totals = shown.view.totals()
        store = idle.default_store() if (self.idle or self.alert) else None
        if self.idle:
            shown.idle = idle.find_idle(visible, self.idle, store)
        if self.alert:
            # Only here: the alert path loads the engine and the registry (pydantic).
            from datakeeper.features.gpu.alert import run_idle_alert

            shown.alert = run_idle_alert(self.cfg, snapshot, store, dry_run=self.dry_run)
        return shown


@dataclass
class _Shown:
    """One look: the viewer's view of the GPUs, and the parts asked for (None if not)."""

    view: Any
    totals: list | None = None
    idle: Any = None
    alert: Any = None

    @property
    def available(self) -> bool:
        return self.view.snapshot.available

    def as_dict(self) -> dict[str, Any]:
        """The JSON document: the same keys every time (null where not asked for)."""
        return {
            **self.view.as_dict(),
            "by_user": None if self.totals is None else [t.as_dict() for t in self.totals],
            "idle": None if self.idle is None else self.idle.as_dict(),
            "alert": None if self.alert is None else self.alert.as_dict(),
        }


def _show_once(request: _Request) -> int:
    """Print the GPUs once; the exit code (1 when --alert fired)."""
    shown = request.gather()
    emit(shown.as_dict(), json_output=request.json_output, render=lambda c: _render(c, shown))
    return 1 if shown.alert is not None and shown.alert.fired else 0


def _watch(request: _Request, seconds: float) -> None:
    """Refresh until Ctrl-C: the screen redrawn on a terminal, JSON lines with --json."""
    console = stdout_console()
    try:
        while True:
            shown = request.gather()
            if request.json_output:
                sys.stdout.write(json.dumps(shown.as_dict(), ensure_ascii=True) + "\n")
                sys.stdout.flush()
            else:
                if console.is_terminal:
                    console.clear()
                _render(console, shown)
            if not shown.available:
                return  # nothing to watch
            time.sleep(seconds)
    except KeyboardInterrupt:
        return


def _render(console, shown: _Shown) -> None:
    snapshot = shown.view.snapshot
    if not snapshot.available:
        console.print(snapshot.message, markup=False)
        return
    gpus = new_table(
        console, _("gpu"), _("name"), _("memory"), _("util"), _("temp"), _("power"), _("processes")
    )
    for g in snapshot.gpus:
        memory = f"{human_size(g.memory_used)} / {human_size(g.memory_total)}"
        count = len(snapshot.on_gpu(g.index))
        gpus.add_row(str(g.index), printable(g.name), memory, *_figures(g), str(count))
    console.print(gpus)
    _render_processes(console, shown.view)
    if shown.totals is not None:
        _render_totals(console, shown.totals)
    if shown.idle is not None:
        _render_idle(console, shown.idle)
    if shown.alert is not None:
        _render_idle(console, shown.alert.report)
        _render_alert(console, shown.alert)


def _figures(g) -> tuple[str, str, str]:
    util = "-" if g.utilization is None else f"{g.utilization}%"
    temp = "-" if g.temperature is None else f"{g.temperature}°C"
    power = "-" if g.power_watts is None else f"{g.power_watts:.0f} W"
    return util, temp, power


def _memory(process) -> str:
    return _("unknown") if process.used_memory is None else human_size(process.used_memory)


def _render_processes(console, view) -> None:
    if view.mine:
        table = new_table(console, _("gpu"), _("pid"), _("user"), _("memory"), _("command"))
        for p in sorted(view.mine, key=lambda p: (p.gpu, -(p.used_memory or 0))):
            command = printable(p.command) if p.command else "-"
            table.add_row(str(p.gpu), str(p.pid), p.owner, _memory(p), command)
        console.print(table)
    elif not view.others:
        console.print(_("No process is using a GPU."), markup=False)
    for gpu, count in sorted(view.others.items()):
        console.print(
            ngettext(
                "GPU {gpu}: {n} process of other users",
                "GPU {gpu}: {n} processes of other users",
                count,
            ).format(gpu=gpu, n=count),
            markup=False,
        )


def _render_totals(console, totals) -> None:
    table = new_table(console, _("user"), _("memory"), _("gpus"), _("processes"))
    for t in totals:
        gpus = ",".join(str(i) for i in sorted(t.gpus))
        table.add_row(t.owner, human_size(t.memory), gpus, str(t.processes))
    console.print(table)


def _render_idle(console, report) -> None:
    if report.holders:
        table = new_table(console, _("gpu"), _("pid"), _("user"), _("memory"), _("idle"))
        for h in report.holders:
            minutes = _("{m:.0f} min").format(m=h.minutes)
            table.add_row(str(h.process.gpu), str(h.process.pid), h.process.owner,
                          _memory(h.process), minutes)  # fmt: skip
        console.print(table)
    else:
        console.print(
            ngettext(
                "No process has held GPU memory at 0% for {n} minute.",
                "No process has held GPU memory at 0% for {n} minutes.",
                report.threshold,
            ).format(n=report.threshold),
            markup=False,
        )
    note = report.note()
    if note:
        console.print(note, markup=False)


def _render_alert(console, outcome) -> None:
    for line in outcome.actions:
        console.print(f"  {line}", markup=False)
    for line in outcome.problems:
        print(f"  {printable(line)}", file=sys.stderr)  # may quote the hook's output
