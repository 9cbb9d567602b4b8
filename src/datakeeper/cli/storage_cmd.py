"""``datakeeper storage``: is each storage root the persistent disk? Mark one that is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datakeeper.cli.common import site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table
from datakeeper.errors import InvalidInputError, StorageNotPersistentError
from datakeeper.i18n import _

# The storage checks (~5 ms), the engine (~90 ms) and rich.table (~12 ms) are imported
# inside the functions that use them: at the top they would slow every start-up,
# `datakeeper --help` included (measured with `python3 -X importtime`).

app = typer.Typer(
    help=_("Check that storage roots are the persistent disks."), no_args_is_help=True
)


@app.command(
    "status",
    help=_(
        "Show each storage root: mounted, marked, persistent, and its free space.\n\n"
        "Exit code 1 when a configured root is not persistent."
    ),
    short_help=_("Mounted, marked, persistent, free."),
)
def status(ctx: typer.Context) -> None:
    """Show each storage root: mounted, marked, persistent, and its free space."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.storage import inspect

    cfg = site_config(ctx, missing_ok=True)
    statuses = [inspect(root) for root in cfg.storage_roots]
    emit(
        [s.as_dict() for s in statuses],
        json_output=global_options(ctx).json_output,
        render=lambda console: _render_status(console, statuses),
    )
    if not all(s.persistent for s in statuses):
        raise typer.Exit(1)


def _render_status(console, statuses) -> None:
    table = new_table(console, _("root"), _("mounted"), _("marker"), _("persistent"))
    for s in statuses:
        table.add_row(
            str(s.root),
            s.mount or (_("no") if s.exists else _("missing")),
            _("yes") if s.marker else _("no"),
            "✓" if s.persistent else _("✗ NOT PERSISTENT"),
        )
    console.print(table)


@app.command(
    "mark",
    help=_("Write the marker that tells datakeeper ROOT is persistent storage."),
    short_help=_("Mark a root as persistent storage."),
)
def mark(
    ctx: typer.Context,
    root: Annotated[Path, typer.Argument(help=_("A configured storage root, e.g. /data."))],
    not_a_mount: Annotated[
        bool,
        typer.Option(
            "--not-a-mount", help=_("Mark a root that is persistent without being a mount.")
        ),
    ] = False,
) -> None:
    """Write the marker that tells datakeeper ROOT is persistent storage."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.storage import MARKER_NAME, inspect, write_marker

    cfg = site_config(ctx, missing_ok=True)
    if root not in cfg.storage_roots:
        raise InvalidInputError(
            _("{root} is not a configured storage root ({roots}); pass one of them").format(
                root=root, roots=", ".join(str(r) for r in cfg.storage_roots)
            )
        )
    found = inspect(root)
    if not found.exists or (found.mount is None and not not_a_mount):
        raise StorageNotPersistentError(
            _(
                "{root} is not a mount point; mount the persistent disk, or pass --not-a-mount "
                "if {root} is on a disk that survives reboots"
            ).format(root=root)
        )
    options = global_options(ctx)
    marker = root / MARKER_NAME
    if not options.dry_run:
        require_root("storage mark")
        marker = write_marker(root, role=_role(cfg, root))
    data = {"marker": str(marker), "dry_run": options.dry_run, "written": not options.dry_run}
    done = _("would write {path}") if options.dry_run else _("wrote {path}")
    emit(data, json_output=options.json_output, render=lambda c: c.print(done.format(path=marker)))


def _role(cfg, root: Path) -> str:
    return "data" if root == cfg.storage.data_root else "backup"
