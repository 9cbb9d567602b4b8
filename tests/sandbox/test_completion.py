"""Tab completion for everyone: the ENV step installs it, recovery brings it back."""

from __future__ import annotations

import os
import sys

import pytest

from datakeeper.features.setup.completion import BASH_SCRIPT, ZSH_FUNCTION

pytestmark = pytest.mark.sandbox


def _shim(server) -> None:
    """``datakeeper`` on PATH, as install.sh links it (here: this checkout's)."""
    shim = f'#!/bin/sh\nexec {sys.executable} -m datakeeper "$@"\n'
    server.run(["sh", "-c", f"cat > /usr/local/bin/datakeeper <<'EOF'\n{shim}EOF"])
    server.run(["chmod", "755", "/usr/local/bin/datakeeper"])


def _bash_completes(server, line: str, user: str | None = None) -> list[str]:
    words = line.split(" ")
    script = (
        f". {BASH_SCRIPT}; COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; "
        '_datakeeper_completion; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    return server.run(["bash", "-c", script], user=user).stdout.split()


@pytest.mark.skipif(not os.path.isdir("/etc/bash_completion.d"), reason="no bash-completion")
def test_bash_completes_commands_and_options_for_a_member_and_after_a_wipe(site):
    _shim(site)
    site.run(["useradd", "-m", "-G", "gpu-users", "alice"])
    assert _bash_completes(site, "datakeeper us", user="alice") == ["user"]
    assert _bash_completes(site, "datakeeper user a") == ["add"]
    assert "--dry-run" in _bash_completes(site, "datakeeper --d")
    site.reboot()
    assert not os.path.exists(site.path(str(BASH_SCRIPT)))
    site.datakeeper("recover")
    _shim(site)
    assert _bash_completes(site, "datakeeper rec") == ["recover", "recovery"]


def test_zsh_gets_an_autoloaded_completion_function(site):
    if site.run(["which", "zsh"], check=False).returncode != 0:
        pytest.skip("zsh is not installed")
    _shim(site)
    function = site.path(str(ZSH_FUNCTION))
    assert function.read_text().startswith("#compdef datakeeper\n")
    assert oct(function.stat().st_mode & 0o777) == "0o644"
    script = "autoload -U compinit; compinit -u; print -r -- ${_comps[datakeeper]}"
    assert site.run(["zsh", "-f", "-c", script]).stdout.strip() == "_datakeeper"
