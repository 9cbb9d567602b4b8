"""A stand-in for ``systemctl`` inside a disposable server, which has no systemd.

``install(server)`` makes datakeeper inside the server see a running systemd
(``/run/systemd/system``) and puts this script first on PATH as ``systemctl``.
It keeps what real systemd keeps, in ``/run/fake-systemd/state.json`` (gone
with a reboot, like the wiped SSD's units): which units are enabled and
active, and the content of each unit file at the last ``daemon-reload`` (a
unit whose file changed since then "needs a reload"). Verbs: daemon-reload,
enable/disable [--now], start, stop [--no-block], is-enabled, is-active, show
--property=NeedDaemonReload --value.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

UNIT_DIR = Path("/etc/systemd/system")
STATE = Path("/run/fake-systemd/state.json")


def install(server) -> None:
    """Make the server look booted with systemd, with this script as its systemctl."""
    wrapper = f'#!/bin/sh\nexec {sys.executable} -I {Path(__file__).resolve()} "$@"\n'
    server.run(["mkdir", "-p", "/run/systemd/system", "/usr/local/sbin"])
    server.run(["sh", "-c", "cat > /usr/local/sbin/systemctl"], input=wrapper)
    server.run(["chmod", "755", "/usr/local/sbin/systemctl"])


def _load() -> dict:
    try:
        return json.loads(STATE.read_text())
    except FileNotFoundError:
        return {"enabled": [], "active": [], "loaded": {}}


def _save(state: dict) -> None:
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state))


def _digest(unit: str) -> str | None:
    try:
        return hashlib.sha256((UNIT_DIR / unit).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _require_loaded(state: dict, units: list[str]) -> None:
    for unit in units:
        if unit not in state["loaded"]:
            sys.exit(f"Failed: Unit {unit} not found.")


def _change(state: dict, verb: str, flags: set[str], units: list[str]) -> None:
    if verb in ("enable", "start"):
        _require_loaded(state, units)
    for unit in units:
        if verb == "enable" and unit not in state["enabled"]:
            state["enabled"].append(unit)
        started = verb == "start" or (verb == "enable" and "--now" in flags)
        if started and unit not in state["active"]:
            state["active"].append(unit)
        if verb == "disable":
            state["enabled"] = [u for u in state["enabled"] if u != unit]
        if verb == "stop" or (verb == "disable" and "--now" in flags):
            state["active"] = [u for u in state["active"] if u != unit]


def _query(state: dict, verb: str, unit: str) -> int:
    if verb == "is-enabled":
        content = (UNIT_DIR / unit).read_text() if _digest(unit) else ""
        word = "enabled" if unit in state["enabled"] else "disabled"
        if word == "disabled" and content and "[Install]" not in content:
            word = "static"
        print(word)
        return 0 if word != "disabled" else 1
    if verb == "is-active":
        active = unit in state["active"]
        print("active" if active else "inactive")
        return 0 if active else 3
    # show --property=NeedDaemonReload --value UNIT
    loaded = state["loaded"].get(unit)
    print("yes" if (loaded or _digest(unit)) and loaded != _digest(unit) else "no")
    return 0


def main(argv: list[str]) -> int:
    state = _load()
    flags = {a for a in argv if a.startswith("--") and a != "--value"}
    words = [a for a in argv if not a.startswith("--")]
    verb, units = words[0], words[1:]
    if verb == "daemon-reload":
        files = [p.name for p in UNIT_DIR.glob("*") if p.is_file()]
        state["loaded"] = {name: _digest(name) for name in files}
    elif verb in ("enable", "disable", "start", "stop"):
        _change(state, verb, flags, units)
    else:
        return _query(state, verb, units[0])
    _save(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
