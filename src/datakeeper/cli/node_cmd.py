"""``datakeeper node``: several servers sharing one ``/data`` (join, sync, list)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from datakeeper.cli import setup_output
from datakeeper.cli.common import change_printer, site_config
from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, new_table
from datakeeper.i18n import _
from datakeeper.status import error_line
from datakeeper.text import printable

if TYPE_CHECKING:
    from datakeeper.engine import Resource
    from datakeeper.features.setup.init import StepResult
    from datakeeper.features.setup.steps import Step

# The config, the engine and the cluster features are imported inside the commands, when
# one runs: at the top they would slow every start-up, `datakeeper --help` included.

app = typer.Typer(
    help=_(
        "Several servers sharing one /data: every node has the same accounts. 'node join' "
        "makes a fresh server a node; each node then follows the shared registry by itself "
        "(a path unit and a timer run 'node sync')."
    ),
    no_args_is_help=True,
)


def _config_path(ctx: typer.Context) -> Path:
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config import resolve_config_path

    return resolve_config_path(global_options(ctx).config_path).absolute()


@app.command(
    "join",
    help=_(
        "Make this server a node of the site whose /data it mounts: install the boot path "
        "(recovery at boot, password sync, login wait) and the node sync (a path unit on the "
        "registry and a timer every [cluster] sync_interval seconds), then recover every "
        "registered account with its ids. Running it again changes nothing."
    ),
    short_help=_("Make this server a node of the shared /data."),
)
def join(ctx: typer.Context) -> None:
    """Install the boot path and the node sync, then recover every account."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.cluster.join import join_node

    options = global_options(ctx)
    require_root("node join")
    cfg = site_config(ctx)
    reporter = setup_output.SetupPrinter(options.json_output)
    printer = change_printer(options.json_output)
    result = join_node(
        cfg, _config_path(ctx), dry_run=options.dry_run, reporter=reporter, on_change=printer
    )

    def render(console) -> None:
        for note in result.notes:
            console.print(f"  {note}", markup=False)
        if result.recovery is not None:
            console.print(result.recovery.summary(), markup=False)
        console.print(
            _("{host} joined: 'datakeeper node list' shows every node.").format(
                host=result.hostname
            )
            if not options.dry_run
            else _("Dry run: nothing changed."),
            markup=False,
        )

    emit(result.as_dict(), json_output=options.json_output, render=render)
    if not result.ok:
        raise typer.Exit(1)


@app.command(
    "sync",
    help=_(
        "Apply the shared registry on this node when its generation moved or an account "
        "differs here: groups, every registered account (same ids), accounts removed on "
        "another node; then record this node's heartbeat. Otherwise only the heartbeat. "
        "The node-sync path unit and timer run it; --force applies the registry anyway."
    ),
    short_help=_("Follow the shared registry on this node."),
)
def sync(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help=_("Apply the registry even when nothing moved."))
    ] = False,
) -> None:
    """Apply the shared registry on this node when it moved."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.cluster.sync import sync_node

    options = global_options(ctx)
    require_root("node sync")
    cfg = site_config(ctx)
    reporter = _ChangesOnly(options.json_output)
    report = sync_node(cfg, dry_run=options.dry_run, reporter=reporter, force=force)

    def render(console) -> None:
        console.print(report.summary(), markup=False)
        for problem in report.drift:
            console.print(f"  {printable(problem)}", markup=False)

    emit(report.as_dict(), json_output=options.json_output, render=render)
    if not report.ok:
        raise typer.Exit(1)


@app.command(
    "list",
    help=_(
        "Every node sharing this /data: its status (up to date, behind the registry, drift, "
        "failed, stale heartbeat), the registry generation it applied, its last heartbeat and "
        "datakeeper version. Exit code 1 when a node is not up to date."
    ),
    short_help=_("Every node's state."),
)
def list_nodes(ctx: typer.Context) -> None:
    """Every node's state against the registry now."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.engine.session import require_root
    from datakeeper.features.cluster.listing import node_list
    from datakeeper.status import NodeStatus

    options = global_options(ctx)
    require_root("node list")
    nodes = node_list(site_config(ctx))

    def render(console) -> None:
        if not nodes.rows:
            console.print(_("No node has joined yet: run 'datakeeper node join' on each server."))
            return
        table = new_table(
            console, _("node"), _("status"), _("generation"), _("heartbeat"), _("version")
        )
        for row in nodes.rows:
            state = row.state
            age = "-" if row.age is None else _("{n} s ago").format(n=row.age)
            applied = "-" if state.generation is None else str(state.generation)
            table.add_row(
                printable(state.hostname), row.status.word(), applied, age, printable(state.version)
            )
        console.print(table)
        console.print(_("registry generation {g}").format(g=nodes.generation), markup=False)
        for row in nodes.rows:
            for problem in row.state.drift:
                host = printable(row.state.hostname)
                console.print(f"  {host}: {printable(problem)}", markup=False)

    emit(nodes.as_dict(), json_output=options.json_output, render=render)
    if any(row.status != NodeStatus.UP_TO_DATE for row in nodes.rows):
        raise typer.Exit(1)


class _ChangesOnly(setup_output.SetupPrinter):
    """A quiet ``SetupReporter`` for the sync (a timer runs it): changes and errors only."""

    def step_started(self, index: int, total: int, step: Step) -> None:
        """Steps are not announced: most syncs change nothing."""

    def unchanged(self, resource: Resource) -> None:
        """Not shown."""

    def step_finished(self, result: StepResult) -> None:
        for error in result.errors:
            self._print(error_line(f"{result.title}: {error}"))
