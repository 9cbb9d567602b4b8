"""The console script: choose the language, then load and run the command line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from datakeeper.cli.language import choose_language
from datakeeper.cli.quick import quick_answer


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``datakeeper``; help texts load translated, so the language comes first.
    ``--help`` and ``--version`` alone are answered without loading Typer (cli/quick.py)."""
    args = list(sys.argv[1:] if argv is None else argv)
    choose_language(args)
    answer = quick_answer(args)
    if answer is not None:
        _write(answer, args)
        return
    from datakeeper.cli.app import main as run  # after the language: see the docstring

    run(args)


def _write(answer: str, args: list[str]) -> None:
    """Print a quick answer; a failed write ends as it does for every other command."""
    try:
        sys.stdout.write(answer)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader has gone (``| head``): exit 1 quietly, as Click does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as error:
        # Imported on this failure only: it loads Typer, which --help is answered without.
        from datakeeper.cli.app import report_crash

        report_crash(error, args)
