"""The console script: choose the language, then load and run the command line."""

from __future__ import annotations

import gc
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


def console() -> None:
    """The console script and ``python -m datakeeper``: :func:`main`, then an exit that
    spares the collector its walks over every object (:func:`_spare_exit_collection`).
    Callers that go on running after ``main`` (tests) call ``main`` itself."""
    try:
        main()
    finally:
        _spare_exit_collection()


def _spare_exit_collection() -> None:
    """Leave the objects alive now out of the collections Python runs at exit.

    On its way out Python collects cycles over every object still alive: after
    Typer and pydantic are imported, ~13 ms, a tenth of a short command such as
    ``datakeeper --json disk`` (benchmarks/disk_usage.py). Frozen objects are left
    out of those collections. Everything Python promises at exit still happens:
    atexit handlers run, threads are joined, and each object freed by its last
    reference is finalized. What only a collection would have finalized, an
    object caught in a reference cycle, Python never promised to finalize at
    exit; and datakeeper closes each file it writes where it writes it (a
    ``with`` block), leaving none to a collector.
    """
    gc.freeze()


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
