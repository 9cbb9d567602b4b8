"""The ``datakeeper`` command: root options and the table of commands.

Each command's module loads only when that command is used (cli/lazy.py), and
command modules import their features inside the command functions, so that
``datakeeper --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer

from datakeeper import __version__
from datakeeper.cli.argv import GlobalOptionsGroup
from datakeeper.cli.click_texts import install_help_formatter, translate_error
from datakeeper.cli.clickcompat import Abort, ClickException, UsageError
from datakeeper.cli.commands import COMPLETE_VAR, command_table, root_texts
from datakeeper.cli.lazy import LazyGroup
from datakeeper.cli.options import GlobalOptions
from datakeeper.cli.progress_view import for_stderr
from datakeeper.config_location import CONFIG_ENV_VAR
from datakeeper.errors import DatakeeperError, ExitCode
from datakeeper.i18n import LANGUAGES, _, set_language
from datakeeper.progress import NO_PROGRESS, reporting

TEXTS = root_texts()


class RootGroup(GlobalOptionsGroup, LazyGroup):
    """``datakeeper``: global options hoisted from anywhere, commands loaded on use."""

    lazy_commands = command_table()


app = typer.Typer(
    name="datakeeper",
    cls=RootGroup,
    help=TEXTS.help,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
install_help_formatter()


def _print_version(value: bool) -> None:
    if value:
        print(f"datakeeper {__version__}")
        raise typer.Exit()


def _use_language(value: str | None) -> str | None:
    """--lang: checked here; the console script already chose it before the help texts
    loaded (cli/language.py), this covers callers that run the app directly."""
    if value is None:
        return None
    if value not in LANGUAGES:
        raise typer.BadParameter(_("choose one of: {choices}").format(choices=", ".join(LANGUAGES)))
    set_language(value)
    return value


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Optional[Path],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option(
            "--config",
            envvar=CONFIG_ENV_VAR,
            help=TEXTS.config,
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=TEXTS.dry_run)] = False,
    json_output: Annotated[bool, typer.Option("--json", help=TEXTS.json)] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=TEXTS.yes)] = False,
    lang: Annotated[
        Optional[str],  # noqa: UP045 - Typer on Python 3.10 needs Optional
        typer.Option(
            "--lang",
            metavar="ko|en",
            callback=_use_language,
            is_eager=True,
            help=TEXTS.lang,
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help=TEXTS.version),
    ] = False,
) -> None:
    """--yes, --dry-run, --json and --config apply to every command, written before or
    after it.

    Without a command: the full-screen menu (admin menu as root, user menu otherwise).
    """
    ctx.obj = GlobalOptions(
        config_path=config, dry_run=dry_run, json_output=json_output, assume_yes=yes
    )
    if ctx.invoked_subcommand is None:
        _start_menu(ctx)


def _start_menu(ctx: typer.Context) -> None:
    """Run the TUI on a terminal; without one, print the help instead."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from datakeeper.tui import run_menu  # Textual is imported only here: --help stays fast

    with reporting(NO_PROGRESS):  # the menu draws its own progress; a stderr bar would tear it
        raise typer.Exit(run_menu(ctx.obj.config_path))


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the app, turn every error into one line and an
    exit code (documented in the README); never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    if COMPLETE_VAR in os.environ:
        _enable_completion()
    try:
        command = typer.main.get_command(app)
        with reporting(for_stderr()):  # a bar for long work, on a terminal only
            code = command.main(args=args, prog_name="datakeeper", standalone_mode=False)
    except UsageError as error:
        _usage_error(error)
    except ClickException as error:
        _print_error(translate_error(error.format_message()))
        sys.exit(error.exit_code)
    except DatakeeperError as error:
        _print_error(str(error))
        sys.exit(int(error.exit_code))
    except PermissionError as error:
        if os.geteuid() == 0:
            report_crash(error, args)  # root refused by the kernel is a real failure
        _refuse_member(args)
    except (KeyboardInterrupt, Abort):
        print(file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as error:  # the last resort: one line and a log, never a traceback
        report_crash(error, args)
    sys.exit(code if isinstance(code, int) else 0)


def _enable_completion() -> None:
    """Typer answers completion requests only for shells it registered; with its own
    --install-completion left out (the ENV step installs the scripts), register them
    here, on the Tab path only."""
    try:
        from typer.completion import completion_init
    except ImportError:  # an older Typer registers them itself
        return
    completion_init()


def _usage_error(error: UsageError) -> None:
    """Click's four-line usage block as the README's one line, exit 2."""
    where = error.ctx.command_path if error.ctx is not None else "datakeeper"
    hint = _("run '{command} --help' for usage").format(command=where)
    _print_error(f"{translate_error(error.format_message()).rstrip('.')}; {hint}")
    sys.exit(int(ExitCode.INVALID))


def report_crash(error: BaseException, args: list[str]) -> None:
    """An error nobody foresaw: its details in a private log, one line here, exit 1."""
    from datakeeper.crashlog import report_unexpected

    _print_error(report_unexpected(error, argv=["datakeeper", *args]))
    sys.exit(int(ExitCode.FAILURE))


def _print_error(message: str) -> None:
    from datakeeper.cli.output import print_error

    print_error(message)


def _refuse_member(argv: Sequence[str]) -> None:
    """A non-root run touched something root-only (the registry, the action log): one
    line naming the command, exit 3, instead of a traceback."""
    what = " ".join(command_words(argv)) or "datakeeper"
    _print_error(_("{action} needs root; run it with sudo").format(action=what))
    sys.exit(int(ExitCode.REFUSED))


def command_words(argv: Sequence[str]) -> list[str]:
    """The (sub)command names in ``argv`` ("user", "list"), options skipped."""
    group = typer.main.get_command(app)
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in ("--config",):
            next(args, None)  # the option's value
            continue
        if arg.startswith("-"):
            continue
        command = getattr(group, "commands", {}).get(arg)
        if command is None:
            break
        words.append(arg)
        group = command
    return words
