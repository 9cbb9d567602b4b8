"""Progress on long work: the protocol, the download's reports, the CLI's bar."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from datakeeper import progress
from datakeeper.cli import progress_view
from datakeeper.features.permissions import SharedRules
from datakeeper.helper import main as sudo_helper
from datakeeper.resources.download import download_verified
from datakeeper.system.home_move import copy_then_delete, inspect_home
from datakeeper.system.safewalk import fix_tree, survey_tree


class Recorder(progress.Progress):
    """Every callback, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, description: str, total: int | None, unit: str) -> None:
        self.calls.append(("start", description, total, unit))

    def advance(self, amount: int) -> None:
        self.calls.append(("advance", amount))

    def finish(self) -> None:
        self.calls.append(("finish",))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, bytes]]:
    """The URL of a 2.5 MiB file served on 127.0.0.1, and its bytes."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "www"
    root.mkdir()
    body = bytes(range(256)) * (10 * 1024)
    root.joinpath("big.bin").write_bytes(body)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/big.bin", body
    finally:
        server.shutdown()
        server.server_close()


def test_nothing_installed_means_the_silent_default() -> None:
    assert progress.current() is progress.NO_PROGRESS


def test_a_download_reports_its_size_in_bytes_and_every_chunk(
    served: tuple[str, bytes], tmp_path: Path
) -> None:
    url, body = served
    recorder = Recorder()
    with progress.reporting(recorder):
        download_verified(url, hashlib.sha256(body).hexdigest(), tmp_path / "out", 5)
    assert recorder.calls[0] == ("start", f"downloading {url}", len(body), "bytes")
    assert recorder.calls[-1] == ("finish",)
    advances = [call[1] for call in recorder.calls[1:-1]]
    assert all(call[0] == "advance" for call in recorder.calls[1:-1])
    assert len(advances) == 3 and sum(advances) == len(body)
    assert progress.current() is progress.NO_PROGRESS  # put back after the block


def test_in_a_pipe_the_cli_draws_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_view.for_stderr() is progress.NO_PROGRESS


def test_on_a_terminal_the_cli_draws_bytes_rate_and_time_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr(progress_view, "stderr_console", lambda: console)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = progress_view.for_stderr()
    assert isinstance(bar, progress_view.RichProgress)
    bar.start("downloading installer.sh", 4 * 1024 * 1024, "bytes")
    bar.advance(2 * 1024 * 1024)
    bar.finish()
    text = screen.getvalue()
    assert "downloading installer.sh" in text
    assert "2.1/4.2 MB" in text
    assert "-:--:--" in text  # the time left, once a rate is known


def test_a_permission_walk_counts_every_entry_it_looks_at(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    for name in ("one", "a/two", "a/b/three"):
        (tree / name).write_text("x")
    rules = SharedRules(4321, "cache", frozenset(), frozenset())
    recorder = Recorder()
    with progress.reporting(recorder):
        survey_tree(tree, rules)
    assert recorder.calls[0] == ("start", f"checking permissions in {tree}", None, "items")
    assert recorder.calls[1:] == [("advance", 1)] * 5 + [("finish",)]  # 2 folders, 3 files


def test_work_inside_work_gets_its_own_line_in_items(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr(progress_view, "stderr_console", lambda: console)
    bar = progress_view.RichProgress()
    with progress.reporting(bar), progress.tracked("recovering", 3, "steps") as outer:
        outer.advance(1)
        with progress.tracked("fixing permissions in /data/shared", None, "items") as inner:
            inner.advance(7)
            bar._bar.refresh()  # drawn now, not at the next tick of Rich's timer
        outer.advance(1)
        bar._bar.refresh()
        after_inner = screen.getvalue().rsplit("7/? items", 1)[1]
    text = screen.getvalue()
    assert "2/3 steps" in text
    assert "7/? items" in text
    assert "fixing permissions" not in after_inner  # done, it left the screen
    assert bar._bar is None  # the live display ended with the outer work


DOWNLOAD = """
import sys
from pathlib import Path
from datakeeper.cli.progress_view import for_stderr
from datakeeper.progress import reporting
from datakeeper.resources.download import download_verified
with reporting(for_stderr()):
    download_verified(sys.argv[1], sys.argv[2], Path(sys.argv[3]), 5)
"""


def _download_argv(served: tuple[str, bytes], destination: Path) -> list[str]:
    url, body = served
    sha = hashlib.sha256(body).hexdigest()
    return [sys.executable, "-c", DOWNLOAD, url, sha, str(destination)]


def test_a_download_on_a_terminal_shows_a_bar(served: tuple[str, bytes], tmp_path: Path) -> None:
    spec = {"argv": _download_argv(served, tmp_path / "out"), "dialog": [], "timeout": 20}
    driver = [sys.executable, "-m", "tests.support.pty_driver", json.dumps(spec)]
    done = subprocess.run(driver, capture_output=True, text=True, timeout=60, check=True)
    assert f"downloading {served[0]}" in done.stdout
    assert "2.6/2.6 MB" in done.stdout  # bytes done of the total


def test_a_download_in_a_pipe_prints_nothing(served: tuple[str, bytes], tmp_path: Path) -> None:
    argv = _download_argv(served, tmp_path / "out")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    assert (done.stdout, done.stderr) == ("", "")
    assert (tmp_path / "out").stat().st_size == len(served[1])


def test_a_fix_after_its_survey_knows_the_total(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    for name in ("one", "a/two"):
        (tree / name).write_text("x")
    rules = SharedRules(4321, "cache", frozenset(), frozenset())
    seen = survey_tree(tree, rules).entries
    recorder = Recorder()
    with progress.reporting(recorder):
        fix_tree(tree, rules, expected=seen)
    assert seen == 3
    assert recorder.calls[0] == ("start", f"fixing permissions in {tree}", 3, "items")


def test_moving_a_home_across_disks_reports_bytes_against_its_measured_size(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    (home / "code").mkdir(parents=True)
    (home / "data.bin").write_bytes(b"x" * 100_000)
    (home / "code" / "train.py").write_bytes(b"y" * 5_000)
    state = inspect_home(home)
    recorder = Recorder()
    with progress.reporting(recorder):
        copy_then_delete(state, tmp_path / "archive")
    start = recorder.calls[0]
    assert start == ("start", f"copying {home}", state.usage.allocated_bytes, "bytes")
    advanced = sorted(call[1] for call in recorder.calls if call[0] == "advance")
    assert advanced == [5_000, 100_000]
    assert recorder.calls[-1] == ("finish",)
    assert (tmp_path / "archive" / "data.bin").stat().st_size == 100_000


def test_a_cache_cleaner_reports_each_entry_it_removes(tmp_path: Path) -> None:
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    for name in ("a.tar.bz2", "b.conda", "keep-me"):
        (pkgs / name).write_text("x")
    policy = {"caches": {"conda": str(pkgs)}, "min_age_days": 0}
    removed: list[int] = []
    cleaner = sudo_helper.clean_cache("conda", policy, now=4e9, on_removed=removed.append)
    assert removed == [1, 1] and len(cleaner.removed) == 2
    assert [p.name for p in pkgs.iterdir()] == ["keep-me"]
