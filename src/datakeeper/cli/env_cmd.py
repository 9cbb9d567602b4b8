"""``datakeeper env`` (my session: groups, umask, home, variables, tools, disks) and
``datakeeper guide [TOPIC]`` (help for researchers)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Optional

import typer

from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table
from datakeeper.i18n import _
from datakeeper.status import yes_no
from datakeeper.text import printable


def env(ctx: typer.Context) -> None:
    """Show the caller's identity, home, site variables, tools and free space."""
    # Imported here, not at the top: keeps `datakeeper --help` fast (measured, ~20 ms).
    from datakeeper.features.envinfo import gather

    cfg = site_config(ctx, missing_ok=True)
    info = gather(cfg)
    json_output = global_options(ctx).json_output
    emit(info.as_dict(), json_output=json_output, render=lambda c: _render(c, info))
    if info.warnings:
        raise typer.Exit(1)


def _render(console, info) -> None:
    console.print(
        _("You are {user} (uid {uid}), in groups: {groups}").format(
            user=info.user, uid=info.uid, groups=", ".join(info.groups)
        ),
        markup=False,
    )
    umask = "?" if info.umask is None else f"{info.umask:03o}"
    console.print(
        _("umask {have} (members of {group} need {want:03o}) {mark}").format(
            have=umask, group=info.site_group, want=info.wanted_umask, mark=yes_no(info.umask_ok)
        ),
        markup=False,
    )
    place = _("persistent storage") if info.home_on_storage else _("the system disk (wiped!)")
    console.print(
        _("home {home} -> {real}, on {place}").format(
            home=printable(info.home), real=printable(info.home_real), place=place
        ),
        markup=False,
    )
    for note in info.layout_notes:  # a hybrid home: what is kept, what is wiped
        console.print(printable(note), markup=False)
    table = new_table(console, _("variable"), _("value"), _("set"), _("exists"), _("writable"))
    for v in info.variables:
        flags = (yes_no(v.set_right), yes_no(v.exists), yes_no(v.writable))
        table.add_row(v.name, printable(v.expected), *flags)
    console.print(table)
    for tool, path in info.tools.items():
        console.print(f"{tool}: {printable(path or _('not found'))}", markup=False)
    for d in info.disks:
        if d.exists:
            console.print(d.headroom(), markup=False)
    for warning in info.warnings:
        console.print(f"! {printable(warning)}", markup=False)  # may quote paths
    if not info.warnings:
        console.print(_("Everything is as the site wants it."))


def guide(
    ctx: typer.Context,
    topic: Annotated[
        Optional[str],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Argument(help=_("A topic: conda or gpu. Without one: data, sharing, reboots.")),
    ] = None,
) -> None:
    """Print the researchers' guide, or one topic of it."""
    # Imported here, like every feature: `datakeeper --help` loads none of them.
    from datakeeper.features.guides import guide as sections_of

    cfg = site_config(ctx, missing_ok=True)
    sections = sections_of(cfg, topic)
    json_output = global_options(ctx).json_output

    def render(console) -> None:
        for section in sections:
            console.print(section.title, style="bold", markup=False)
            for paragraph in section.paragraphs:
                console.print(paragraph, markup=False)
                console.print()

    emit([asdict(s) for s in sections], json_output=json_output, render=render)
