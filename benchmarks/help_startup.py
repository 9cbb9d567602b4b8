"""Benchmark: start-up of `datakeeper --help` in Korean against English, same run.

Starts the installed console script (``.venv/bin/datakeeper``) ``--runs``
times per row, every row in turn, so that all of them see the same machine
load, and prints the median wall time of each in English and in Korean, the
Korean/English ratio, and the goal beside the rows it applies to: ``--help``
in at most 0.06 s with the Korean catalog loaded (issue 19; issue 13 asked
for 0.08 s). Two floors give the scale: the bare interpreter and Python
importing Typer alone. The Korean runs read the compiled catalog
(``scripts/i18n.py compile``).

    .venv/bin/python benchmarks/help_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PYTHON = Path(sys.executable)
COMMAND = PYTHON.with_name("datakeeper")
GOAL_SECONDS = 0.06
# (label, argv, goal): what a person types, and the floors it is measured against.
ROWS: tuple[tuple[str, list[str], float | None], ...] = (
    ("python -c pass (floor)", [str(PYTHON), "-c", "pass"], None),
    ("python -c 'import typer' (floor)", [str(PYTHON), "-c", "import typer"], None),
    ("datakeeper --version", [str(COMMAND), "--version"], None),
    ("datakeeper --help", [str(COMMAND), "--help"], GOAL_SECONDS),
    ("datakeeper user --help", [str(COMMAND), "user", "--help"], None),
    ("datakeeper user add --help", [str(COMMAND), "user", "add", "--help"], None),
    ("datakeeper disk --help", [str(COMMAND), "disk", "--help"], None),
)


def _once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        shown = " ".join(argv)
        raise SystemExit(f"{shown} failed: {result.stderr.decode(errors='replace')}")
    return elapsed


def _environments() -> dict[str, dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    return {"en": {**base, "LANG": "C.UTF-8"}, "ko": {**base, "LANG": "ko_KR.UTF-8"}}


def measure(runs: int) -> dict[tuple[str, str], float]:
    """The median wall time of every (row, language), all measured interleaved."""
    languages = _environments()
    cases = [
        (label, argv, lang, env) for label, argv, _goal in ROWS for lang, env in languages.items()
    ]
    for _label, argv, _lang, env in cases:
        _once(argv, env)  # warm the page cache and the bytecode
    times: dict[tuple[str, str], list[float]] = {(c[0], c[2]): [] for c in cases}
    for _ in range(runs):
        for label, argv, lang, env in cases:
            times[(label, lang)].append(_once(argv, env))
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    medians = measure(args.runs)
    load = os.getloadavg()[0]
    print(f"start-up, median of {args.runs} runs (load average {load:.2f}, {os.cpu_count()} CPUs):")
    print(f"  {'':34} {'English':>8} {'Korean':>8} {'ko/en':>6}")
    for label, _argv, goal in ROWS:
        english, korean = medians[(label, "en")], medians[(label, "ko")]
        verdict = ""
        if goal is not None:
            verdict = f"   goal <= {goal:.2f} s: {'met' if korean <= goal else 'NOT met'}"
        print(f"  {label:34} {english:7.3f}s {korean:7.3f}s {korean / english:5.2f}x{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
