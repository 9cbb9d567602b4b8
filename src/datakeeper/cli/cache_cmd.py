"""``datakeeper cache``: list the package and model caches, and clean them."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Optional

import typer

from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table, stdout_console
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _, ngettext
from datakeeper.sizes import human_size
from datakeeper.text import printable

# The cache features (~0.11 s) and rich.table (~12 ms) are imported inside the
# functions that use them: at the top they would slow every start-up, `datakeeper
# --help` included (measured with `python3 -X importtime`).

app = typer.Typer(help=_("List and clean the package and model caches."), no_args_is_help=True)


@app.command(
    "list",
    help=_("Show each cache: path, size, files and the oldest access."),
    short_help=_("Each cache: size, files, oldest use."),
)
def list_caches(ctx: typer.Context) -> None:
    """Show each cache: path, size, files and the oldest access."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.caches.clean import list_caches as scan

    rows = scan(site_config(ctx))
    data = [{**_location(loc), **_usage(usage)} for loc, usage in rows]
    emit(data, json_output=global_options(ctx).json_output, render=lambda c: _render_list(c, rows))


@app.command(
    "clean",
    help=_(
        "Show what each cache would free, ask, then clean (members: through sudo).\n\n"
        "Exit code 1 when a cache could not be cleaned, 4 when another cleanup holds its lock."
    ),
    short_help=_("Free space in the caches."),
)
def clean(
    ctx: typer.Context,
    conda: Annotated[
        bool, typer.Option("--conda", help=_("Shared conda package tarballs."))
    ] = False,
    pip: Annotated[bool, typer.Option("--pip", help=_("Your pip cache."))] = False,
    uv: Annotated[bool, typer.Option("--uv", help=_("Your uv cache."))] = False,
    torch: Annotated[bool, typer.Option("--torch", help=_("Shared torch hub."))] = False,
    hf: Annotated[bool, typer.Option("--hf", help=_("Shared HuggingFace hub."))] = False,
    all_kinds: Annotated[
        bool, typer.Option("--all", help=_("Every cache the site lists."))
    ] = False,
    older_than: Annotated[
        Optional[str],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option(
            "--older-than",
            help=_(
                "Only what was unused this long, e.g. 30d or 4w [hf, torch: 30d; conda: every "
                "tarball]."
            ),
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show what each cache would free, ask, then clean (members: through sudo)."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.features.caches.clean import clean as run_clean
    from datakeeper.features.caches.clean import plan_clean
    from datakeeper.features.caches.kinds import FLAGS, parse_age

    options = global_options(ctx)
    dry_run, yes = options.dry_run, options.assume_yes
    chosen = {"conda": conda, "pip": pip, "uv": uv, "torch": torch, "huggingface": hf}
    cfg = site_config(ctx)
    kinds = list(cfg.cache.kinds) if all_kinds else [k for k, on in chosen.items() if on]
    if not kinds:
        flags = ", ".join([*FLAGS.values(), "--all"])
        raise InvalidInputError(_("choose what to clean: {flags}").format(flags=flags))
    ask = not (dry_run or yes)
    if ask and (options.json_output or not sys.stdin.isatty()):
        raise InvalidInputError(
            _("cache clean deletes files and there is no terminal to ask: pass --yes or --dry-run")
        )
    age = parse_age(older_than) if older_than is not None else None
    plan = plan_clean(cfg, kinds, age)
    if not options.json_output:
        _render_plan(plan)
    if dry_run:
        _finish(plan, options.json_output)
        return
    if ask and plan.frees and not typer.confirm(_("Remove them?"), default=False):
        raise typer.Exit(1)
    done = run_clean(plan)
    _finish(done, options.json_output)
    code = done.exit_code()
    if code:
        raise typer.Exit(int(code))


def _finish(run, json_output: bool) -> None:
    emit(run.as_dict(), json_output=json_output, render=lambda c: _render_outcome(c, run))


def _render_plan(plan) -> None:
    console = stdout_console()
    for kind in plan.kinds:
        days = kind.resource.age_days
        age = ""
        if days:
            age = ngettext(", unused for {n} day", ", unused for {n} days", days).format(n=days)
        line = ngettext(
            "{label} ({path}, {method}{age}): {files} entry, {size} would be freed",
            "{label} ({path}, {method}{age}): {files} entries, {size} would be freed",
            kind.scan.files,
        )
        console.print(
            line.format(
                label=kind.location.label,
                path=printable(kind.location.path),
                method=kind.resource.method.name,
                age=age,
                files=kind.scan.files,
                size=human_size(kind.scan.size),
            ),
            markup=False,
        )
        for item in kind.scan.sample:
            # Names in a shared cache are chosen by its members: shown escaped.
            console.print(f"    {printable(item)}", markup=False)
        for note in [*kind.scan.notes, *kind.notes, kind.problem]:
            if note:
                console.print(f"  ! {printable(note)}", markup=False)


def _render_outcome(console, run) -> None:
    if run.dry_run:
        console.print(_("Nothing was removed."))
        return
    for kind in run.kinds:
        console.print(f"{kind.location.label}: {printable(kind.outcome_text())}", markup=False)


def _location(location) -> dict:
    return {
        "kind": location.kind,
        "label": location.label,
        "path": str(location.path),
        "shared": location.shared,
        "cleanable": location.cleanable,
    }


def _usage(usage) -> dict:
    return {
        "exists": usage.exists,
        "size_bytes": usage.size,
        "files": usage.files,
        "oldest_access": usage.oldest_access,
        "unreadable_dirs": usage.unreadable,
    }


def _render_list(console, rows) -> None:
    table = new_table(
        console, _("cache"), _("path"), _("size"), _("files"), _("oldest access"), _("note")
    )
    for location, usage in rows:
        oldest = usage.oldest_access
        when = time.strftime("%Y-%m-%d", time.localtime(oldest)) if oldest else "-"
        note = _("missing") if not usage.exists else ""
        if usage.unreadable:
            note = ngettext(
                "{n} folder unreadable", "{n} folders unreadable", usage.unreadable
            ).format(n=usage.unreadable)
        whose = _("shared") if location.shared else _("yours")
        table.add_row(
            f"{location.label} ({whose})",
            printable(location.path),
            human_size(usage.size) if usage.exists else "-",
            str(usage.files) if usage.exists else "-",
            when,
            note,
        )
    console.print(table)
