"""Disk usage: the storage roots, shared folders and homes, with bars; scanned in a worker."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import ProgressBar

from datakeeper.i18n import _, ngettext
from datakeeper.text import printable
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.bars import text_bar
from datakeeper.tui.widgets.textpanel import TextPanel

BAR = 16


class DiskScreen(FeatureScreen):
    """``datakeeper disk``: root sees every home; anyone else the shared folders and theirs."""

    HEADING = _("Disk usage")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "scan", _("Scan again"))]
    DEFAULT_CSS = """
    DiskScreen ProgressBar { margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cfg = None

    def body(self) -> Iterable[Widget]:
        yield ProgressBar(show_eta=False, id="progress")
        yield TextPanel(id="usage")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(TextPanel).focus()
        self.cfg = self.config(missing_ok=True)
        self.action_scan()

    def action_scan(self) -> None:
        """Measure in a worker; the bar follows the folders scanned."""
        if self.cfg is None:
            return
        self.query_one("#progress").display = True
        self.call(
            _("scanning the folders"),
            self.features.disk_report,
            self.cfg,
            listener=_Listener(self),
            then=self._show,
        )

    def _show(self, report) -> None:
        from datakeeper.sizes import human_size

        self.query_one("#progress").display = False
        storage = [_("Storage")]
        for root in report.roots:
            if not root.exists:
                storage.append(
                    f"  {text_bar(0, BAR)}   -    {printable(root.root)}: " + _("missing")
                )
                continue
            figures = _("{free} free of {total}").format(
                free=human_size(root.free), total=human_size(root.total)
            )
            bar = text_bar(root.percent / 100, BAR)
            storage.append(f"  {bar} {root.percent:5.1f}%  {printable(root.root)}  {figures}")
        if report.source == "quota":
            homes = [_("Homes (quota)")]
            homes += [f"  {q.user}: {human_size(q.bytes)}" for q in report.quota]
        else:
            homes = _folders(_("Homes"), report.homes)
        shared = _folders(_("Shared folders"), report.shared)
        # A researcher looks for their own home first; the admin for the disks first.
        admin = getattr(self.app, "admin", True)
        lines = storage + shared + homes if admin else [*homes[1:], "", *storage, *shared]
        lines += ["", _("Sizes are disk space allocated (as du counts it), not file lengths.")]
        lines += [printable(note) for note in report.notes]
        if report.errors:
            lines.append(
                ngettext(
                    "{n} folder or file could not be read: {e}",
                    "{n} folders or files could not be read: {e}",
                    report.errors,
                ).format(n=report.errors, e="; ".join(map(printable, report.error_samples)))
            )
        self.query_one(TextPanel).show(lines)

    def progress(self, total: int | None = None, advance: int = 0) -> None:
        """Set the bar's total (scanning begins) or advance it (a folder is done)."""
        bar = self.query_one("#progress", ProgressBar)
        if total is not None:
            bar.update(total=total, progress=0)
        bar.advance(advance)


def _folders(title: str, folders) -> list[str]:
    """A heading and one bar per folder, relative to the largest."""
    from datakeeper.sizes import human_size

    if not folders:
        return []
    largest = max(f.bytes for f in folders) or 1
    lines = ["", title]
    for f in sorted(folders, key=lambda f: f.bytes, reverse=True):
        # Folder names below a storage root may be chosen by members: shown escaped.
        name = printable(f"{f.path} ({f.user})" if f.user else f.path)
        lines.append(f"  {text_bar(f.bytes / largest, BAR)} {human_size(f.bytes):>10}  {name}")
    return lines


class _Listener:
    """A ScanListener: the progress bar, and the folder being walked (at most 5 a second)."""

    def __init__(self, screen: DiskScreen) -> None:
        self.screen = screen
        self.shown = 0.0

    def started(self, trees: int) -> None:
        self.screen.from_thread(self.screen.progress, trees)

    def scanning(self, top, entries: int) -> None:
        now = time.monotonic()
        if now - self.shown > 0.2:
            self.shown = now
            text = ngettext("{n:,} entry in {top}", "{n:,} entries in {top}", entries).format(
                n=entries, top=printable(top)
            )
            self.screen.from_thread(self.screen.status.busy, text)

    def finished(self, scan) -> None:
        self.screen.from_thread(self.screen.progress, None, 1)
