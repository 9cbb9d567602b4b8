"""Root's reads of files a member can write: no link, no FIFO or device, bounded."""

from __future__ import annotations

import os
import threading

import pytest

from datakeeper.system.saferead import UnsafeFileError, open_regular, read_capped
from datakeeper.system.sshkeys import read_user_file


def _in_time(call, seconds: float = 10):
    """``call()``'s result or exception, failing (not hanging the suite) if it blocks."""
    found: list = []

    def run():
        try:
            found.append(call())
        except Exception as error:
            found.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert found, f"blocked for more than {seconds} s"
    return found[0]


def test_a_small_regular_file_is_read_whole(tmp_path):
    (tmp_path / "ref").write_bytes(b"abc")
    assert read_capped(tmp_path / "ref", 3) == b"abc"
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert read_capped("ref", 3, dir_fd=dir_fd) == b"abc"
    finally:
        os.close(dir_fd)


@pytest.mark.parametrize(
    ("plant", "reason"),
    [
        (lambda path: os.mkfifo(path), "a FIFO, not a regular file"),
        (lambda path: path.symlink_to("/dev/zero"), "a symbolic link"),
        (lambda path: path.mkdir(), "a directory, not a regular file"),
        (lambda path: path.write_bytes(b"x" * 257), "larger than 256 bytes"),
    ],
    ids=["fifo", "link-to-dev-zero", "directory", "too-big"],
)
def test_what_root_must_not_read_is_refused_with_the_reason(tmp_path, plant, reason):
    plant(tmp_path / "ref")
    error = _in_time(lambda: read_capped(tmp_path / "ref", 256))
    assert isinstance(error, UnsafeFileError)
    assert error.reason == reason


def test_a_device_is_never_read():
    error = _in_time(lambda: open_regular("/dev/zero"))
    assert isinstance(error, UnsafeFileError)
    assert error.reason == "a character device, not a regular file"


def test_a_fifo_with_a_writer_does_not_hang_or_fill_a_users_file_read(tmp_path):
    fifo = tmp_path / "authorized_keys"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer open
    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(writer, b"ssh-ed25519 AAAA")
        assert _in_time(lambda: read_user_file(fifo)) is None
    finally:
        os.close(writer)
        os.close(reader)


def test_an_absent_file_is_an_ordinary_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_capped(tmp_path / "missing", 10)
