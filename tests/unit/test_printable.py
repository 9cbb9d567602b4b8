"""Names from the filesystem never reach a terminal, a JSON document or the log raw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datakeeper.actionlog import ActionLog
from datakeeper.cli.output import emit, json_text, print_error, stdout_console
from datakeeper.engine.change import Change
from datakeeper.storage import write_marker
from datakeeper.text import printable

ESC, BEL, CSI = "\x1b", "\x07", "\x9b"
TITLE = f"{ESC}]0;OWNED{BEL}{ESC}[2J{ESC}[31mFAKE: all good"
OSC52 = f"{ESC}]52;c;cm0gLXJmIH4K{BEL}"  # writes "rm -rf ~" into the clipboard
UNDECODABLE = os.fsdecode(b"model-\xff\xfe.bin")  # what os.listdir gives for bad UTF-8
RAW = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (storage marker, lock)")


def assert_nothing_raw(text: str) -> None:
    """No control character and no lone surrogate; newlines only as line ends."""
    for line in text.split("\n"):
        assert not any(char in line for char in RAW), repr(line)
    assert text.encode("utf-8")  # a lone surrogate would raise here


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        (TITLE, "\\x1b]0;OWNED\\x07\\x1b[2J\\x1b[31mFAKE: all good"),
        (OSC52, "\\x1b]52;c;cm0gLXJmIH4K\\x07"),
        ("line\rfake\nnext\ttab", "line\\rfake\\nnext\\ttab"),
        (f"{CSI}2J", "\\x9b2J"),
        ("del\x7f\x00", "del\\x7f\\x00"),
        ("rtl\u202eexe.txt", "rtl\\u202eexe.txt"),
        (UNDECODABLE, "model-\\xff\\xfe.bin"),
        (b"model-\xff\x1b.bin", "model-\\xff\\x1b.bin"),
        (Path("/data/code") / UNDECODABLE, "/data/code/model-\\xff\\xfe.bin"),
        ("한국어 모델 [bold]x[/] C:\\dir", "한국어 모델 [bold]x[/] C:\\dir"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(name, shown):
    assert printable(name) == shown
    assert printable(shown) == shown  # escaping twice changes nothing
    assert_nothing_raw(printable(name))


def test_printable_keeps_only_the_characters_it_is_told_to():
    assert printable("one\ntwo\x1b", keep="\n") == "one\ntwo\\x1b"
    assert all(printable(char) != char for char in RAW)


def test_json_output_is_printable_and_lossless():
    data = {"sample": [TITLE, OSC52, f"{CSI}2J", UNDECODABLE, "한국어\x7f"], TITLE: 1}
    text = json_text(data)
    assert_nothing_raw(text)
    assert "한국어" in text  # readable, not \\uXXXX
    assert json.loads(text) == data


def test_emit_json_does_not_crash_on_undecodable_names(capsys):
    emit({"path": UNDECODABLE}, json_output=True, render=lambda console: None)
    out = capsys.readouterr().out
    assert json.loads(out) == {"path": UNDECODABLE}


def test_the_console_shows_markup_and_escapes_as_text(capsys):
    from rich.table import Table

    console = stdout_console()
    console.print(f"[bold red]x[/] :smile: {TITLE}\nsecond line")
    table = Table("name")
    table.add_row(f"[red]{OSC52}")
    console.print(table)
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert "[bold red]x[/] :smile: \\x1b]0;OWNED\\x07" in out
    assert "second line" in out and "[red]\\x1b]52;c;" in out


def test_an_error_is_one_line(capsys):
    print_error(f"cannot read {TITLE}\nfake second line")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ESC not in err


def test_change_sentences_and_results_are_escaped():
    change = Change("cache x", f"remove {TITLE}", lambda: None, result=f"a\n{OSC52}")
    assert change.summary == f"remove {printable(TITLE)}"
    assert change.result == "a\n\\x1b]52;c;cm0gLXJmIH4K\\x07"


def test_the_action_log_escapes_every_string(tmp_path, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr("datakeeper.actionlog._send_to_syslog", lambda e: sent.append(e["change"]))
    log = ActionLog(tmp_path / "actions.log")
    log.record(
        code="cache_cleanup.update",
        resource=f"cache {UNDECODABLE}",
        change=f"remove {TITLE}\nforged record",
        details={"result": [OSC52], UNDECODABLE: f"{CSI}"},
    )
    data = (tmp_path / "actions.log").read_bytes()
    text = data.decode("utf-8")  # strict: an undecodable name did not crash the write
    assert_nothing_raw(text)
    assert text.count("\n") == 1
    record = json.loads(text)
    assert (
        record["change"]
        == "remove \\x1b]0;OWNED\\x07\\x1b[2J\\x1b[31mFAKE: all good\\nforged record"
    )
    assert record["details"] == {
        "result": ["\\x1b]52;c;cm0gLXJmIH4K\\x07"],
        "model-\\xff\\xfe.bin": "\\x9b",
    }
    assert sent == [record["change"]]


def _plant_old(directory: Path, names: list[str]) -> None:
    old = time.time() - 100 * 86400
    for name in names:
        path = os.path.join(os.fsencode(directory), os.fsencode(name))
        with open(path, "wb") as stream:
            stream.write(b"x")
        os.utime(path, (old, old))


def _datakeeper(config: Path, *args: str) -> tuple[str, str]:
    run = subprocess.run(
        [sys.executable, "-m", "datakeeper", "--config", str(config), *args],
        capture_output=True,
        check=False,
    )
    out, err = run.stdout.decode("utf-8"), run.stderr.decode("utf-8")  # strict UTF-8
    assert run.returncode == 0, err
    assert_nothing_raw(out + err)
    return out, err


@needs_root
def test_cache_clean_dry_run_shows_planted_names_escaped(tmp_path):
    pkgs = tmp_path / "data/cache/conda/pkgs"
    pkgs.mkdir(parents=True)
    write_marker(tmp_path / "data", role="data")
    names = [f"{TITLE}.conda", f"{OSC52}.conda", f"{UNDECODABLE}.conda", "[bold red]x.conda"]
    _plant_old(pkgs, names)
    config = tmp_path / "datakeeper.toml"
    config.write_text(f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = ""\n')
    out, _err = _datakeeper(config, "cache", "clean", "--conda", "--dry-run")
    assert f"{pkgs}/\\x1b]0;OWNED\\x07\\x1b[2J\\x1b[31mFAKE: all good.conda" in out
    assert "/\\x1b]52;c;cm0gLXJmIH4K\\x07.conda" in out
    assert "/model-\\xff\\xfe.bin.conda" in out
    assert "/[bold red]x.conda" in out  # not read as markup
    out, _err = _datakeeper(config, "--json", "cache", "clean", "--conda", "--dry-run")
    [cache] = json.loads(out)["caches"]
    assert sorted(cache["sample"]) == sorted(f"{pkgs}/{name}" for name in names)  # lossless
