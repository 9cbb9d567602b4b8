"""``datakeeper config``: show and validate the site config.

The config package imports pydantic, which is slow (~80 ms, measured with
``python3 -X importtime``): it is imported inside the command functions so that
``datakeeper --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from datakeeper.cli.options import global_options
from datakeeper.cli.output import emit, print_error
from datakeeper.errors import ExitCode
from datakeeper.i18n import _

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(help=_("Show and validate the site config."), no_args_is_help=True)


@app.command(
    "show",
    help=_("Print the effective config (defaults filled in) as TOML, or JSON with --json."),
    short_help=_("Print the effective config as TOML."),
)
def show(ctx: typer.Context) -> None:
    """Print the effective config (defaults filled in) as TOML, or JSON with --json."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config.loader import (
        config_file_missing,
        config_to_dict,
        load_config,
        render_config,
    )
    from datakeeper.paths import resolve_config_path

    options = global_options(ctx)
    path = resolve_config_path(options.config_path)
    if config_file_missing(path):
        note = _("datakeeper: note: no config file at {path}; showing the defaults")
        print(note.format(path=path), file=sys.stderr)
    config = load_config(path, missing_ok=True)

    def render(_console: Console) -> None:
        # Written as-is: Rich would read "[storage]" as markup and wrap long lines.
        sys.stdout.write(render_config(config))

    emit(config_to_dict(config), json_output=options.json_output, render=render)


@app.command(
    "validate",
    help=_("Check a config file and list every problem, one per line (exit 2 if any)."),
    short_help=_("List every problem of a config file."),
)
def validate(
    ctx: typer.Context,
    path: Annotated[
        Optional[Path],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Argument(
            metavar="PATH",
            help=_("Config file to check [default: the --config file]."),
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check a config file and list every problem, one per line (exit 2 if any)."""
    # Imported here, when the command runs: start-up cost (see the note at the top).
    from datakeeper.config.loader import check_config
    from datakeeper.paths import resolve_config_path

    options = global_options(ctx)
    target = path if path is not None else resolve_config_path(options.config_path)
    problems = check_config(target)
    result = {"path": str(target), "valid": not problems, "errors": problems}

    def render(_console: Console) -> None:
        if not problems:
            print(_("{path}: valid").format(path=target))
        for problem in problems:
            print_error(problem)

    emit(result, json_output=options.json_output, render=render)
    if problems:
        raise typer.Exit(code=int(ExitCode.INVALID))
