"""Output without a terminal (pipes, ssh without -t): complete values, a record a line."""

from __future__ import annotations

import io

from rich.console import Console

from datakeeper.cli.output import new_table, people_value


def _pipe_console() -> Console:
    """What stdout_console() is in a pipe: not a terminal, 80 columns, soft wrap."""
    return Console(file=io.StringIO(), width=80, color_system=None, soft_wrap=True)


def test_a_table_in_a_pipe_keeps_every_value_whole_one_record_a_line():
    console = _pipe_console()
    table = new_table(console, "name", "shell", "home", "state")
    long_home = "/data/users/" + "a-very-long-directory-name/" * 5
    table.add_row("alice", "/bin/bash", long_home, "registered")
    table.add_row("bob", "/usr/bin/zsh", "/data/users/bob", "drift: shell, groups")
    console.print(table)
    assert console.file.getvalue().splitlines() == [
        "name\tshell\thome\tstate",
        f"alice\t/bin/bash\t{long_home}\tregistered",
        "bob\t/usr/bin/zsh\t/data/users/bob\tdrift: shell, groups",
    ]


def test_a_tab_or_newline_in_a_value_cannot_split_a_record():
    console = _pipe_console()
    table = new_table(console, "name", "note")
    table.add_row("x\ty", "two\nlines")
    console.print(table)
    assert console.file.getvalue().splitlines()[1] == "x\\ty\ttwo\\nlines"


def test_on_a_terminal_the_table_is_drawn():
    console = Console(file=io.StringIO(), width=80, color_system=None, force_terminal=True)
    table = new_table(console, "name", "shell")
    table.add_row("alice", "/bin/bash")
    console.print(table)
    assert "│" in console.file.getvalue() or "┃" in console.file.getvalue()


def test_values_read_as_people_write_them():
    assert people_value(["gpu-users", "docker"]) == "gpu-users, docker"
    assert people_value([]) == "-"
    assert people_value(None) == "-"
    assert people_value(1001) == "1001"
    assert people_value(True) == "yes"
