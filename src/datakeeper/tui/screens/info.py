"""Read-only screens of the user menu: environment info, the conda guide, help."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widget import Widget

from datakeeper.i18n import _
from datakeeper.status import yes_no
from datakeeper.tui.screens.base import FeatureScreen
from datakeeper.tui.widgets.textpanel import TextPanel


class EnvScreen(FeatureScreen):
    """``datakeeper env``: who you are, umask, home, the site's variables, tools, disks."""

    HEADING = _("Environment info")

    def body(self) -> Iterable[Widget]:
        yield TextPanel(id="env")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(TextPanel).focus()
        cfg = self.config(missing_ok=True)
        if cfg is not None:
            self.call(_("looking at your session"), self.features.env_info, cfg, then=self._show)

    def _show(self, info) -> None:

        umask = "?" if info.umask is None else f"{info.umask:03o}"
        place = _("persistent storage") if info.home_on_storage else _("the system disk (wiped!)")
        lines = [
            _("You are {user} (uid {uid}), in groups: {groups}").format(
                user=info.user, uid=info.uid, groups=", ".join(info.groups)
            ),
            _("umask {have} (members of {group} need {want:03o}) {mark}").format(
                have=umask,
                group=info.site_group,
                want=info.wanted_umask,
                mark=yes_no(info.umask_ok),
            ),
            _("home {home} -> {real}, on {place}").format(
                home=info.home, real=info.home_real, place=place
            ),
            "",
            _("variable            set exists writable  value"),
        ]
        for v in info.variables:
            marks = f"{yes_no(v.set_right):^3} {yes_no(v.exists):^6} {yes_no(v.writable):^8}"
            lines.append(f"{v.name:<19} {marks}  {v.expected}")
        lines.append("")
        lines += [f"{tool}: {path or _('not found')}" for tool, path in info.tools.items()]
        lines += [d.headroom() for d in info.disks if d.exists]
        lines += [""] + [f"! {w}" for w in info.warnings]
        if not info.warnings:
            lines.append(_("Everything is as the site wants it."))
        self.query_one(TextPanel).show(lines)


KEYS_HELP = (
    _(
        "Keys: arrows move, Enter opens or confirms, Tab goes to the next field, Space ticks, "
        "Esc goes back, q quits."
    ),
    _(
        "The same is on the command line: 'datakeeper env', 'datakeeper disk', "
        "'datakeeper guide', 'datakeeper guide conda'."
    ),
)


class GuideScreen(FeatureScreen):
    """``datakeeper guide [TOPIC]``; the general guide also explains the keys."""

    def __init__(self, topic: str | None) -> None:
        super().__init__()
        self.topic = topic
        self.HEADING = _("Conda guide") if topic == "conda" else _("Help")

    def body(self) -> Iterable[Widget]:
        yield TextPanel(id="guide")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(TextPanel).focus()
        cfg = self.config(missing_ok=True)
        if cfg is not None:
            self.call(_("reading the guide"), self.features.guide, cfg, self.topic, then=self._show)

    def _show(self, sections) -> None:
        lines: list[str] = [*KEYS_HELP, ""] if self.topic is None else []
        for section in sections:
            lines += [section.title.upper(), *[p + "\n" for p in section.paragraphs]]
        self.query_one(TextPanel).show(lines)
