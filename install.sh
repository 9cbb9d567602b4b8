#!/bin/sh
# Install datakeeper onto persistent storage, in its own virtual environment,
# and link it onto PATH. Re-running upgrades in place: each install is a new
# release directory and the "current" link is switched only once it works.
#
#   sudo ./install.sh [--prefix DIR] [--bin-dir DIR] [--wheels DIR] [--allow-unmounted] [-- ARGS...]
#
# --wheels DIR installs offline from a directory of wheels (pip --no-index): the
# dependencies and the build tools (pip download setuptools wheel babel), since the
# package is built here; its Korean catalog is compiled in that build.
# After "--", ARGS are passed to the freshly installed datakeeper (e.g. "init").
# Exit codes: 0 installed, 1 install failed, 2 bad usage or missing prerequisite,
# 3 refused (not root, or the prefix is on storage that is not mounted).
set -eu

PREFIX=/data/apps/datakeeper
BIN_DIR=/usr/local/bin
ALLOW_UNMOUNTED=0
WHEELS=""
SOURCE_DIR=$(cd "$(dirname "$0")" && pwd)
MIN_PYTHON="3.10"

say() { printf '%s\n' "install.sh: $*"; }
die() { code=$1; shift; printf '%s\n' "install.sh: error: $*" >&2; exit "$code"; }

usage() {
    # The comment block at the top of this file, up to the first line of code.
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die 2 "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
        --bin-dir) [ $# -ge 2 ] || die 2 "--bin-dir needs a directory"; BIN_DIR=$2; shift 2 ;;
        --wheels) [ $# -ge 2 ] || die 2 "--wheels needs a directory"; WHEELS=$2; shift 2 ;;
        --allow-unmounted) ALLOW_UNMOUNTED=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        *) die 2 "unknown option '$1'; see ./install.sh --help" ;;
    esac
done

case "$PREFIX" in
    /*) ;;
    *) die 2 "--prefix must be an absolute path (got '$PREFIX')" ;;
esac
[ "$(id -u)" -eq 0 ] || die 3 "datakeeper runs as root and must be installed by root; run: sudo $0"

find_python() {
    for candidate in python3 python3.13 python3.12 python3.11 python3.10; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

PYTHON=$(find_python) ||
    die 2 "Python >= $MIN_PYTHON is required; install it: apt-get install python3 python3-venv"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null ||
    die 2 "Python's venv module is missing; install it: apt-get install python3-venv"

# The tool must survive the wipe of the root disk: refuse to install "onto
# /data" when /data is really an empty directory on the SSD.
storage_root="/$(printf '%s' "$PREFIX" | cut -d/ -f2)"
if [ "$storage_root" = /data ] || [ "$storage_root" = /backup ]; then
    if ! mountpoint -q "$storage_root" 2>/dev/null && [ ! -f "$storage_root/.datakeeper-storage" ]; then
        [ "$ALLOW_UNMOUNTED" -eq 1 ] ||
            die 3 "$storage_root is not a mount point: the persistent disk seems not mounted, so the tool would be wiped at the next boot; mount it first, or pass --allow-unmounted if $storage_root is on a persistent root disk"
    fi
    # Root runs this tool at boot only when every folder above it is root's (the
    # boot entry checks): an older datakeeper gave the storage root to the admin,
    # who could then swap apps/ for their own. Give it back (group and mode stay).
    if [ -d "$storage_root" ] && [ "$(stat -c %u "$storage_root")" != 0 ]; then
        say "$storage_root belonged to $(stat -c %U "$storage_root"); making it root's (its group and mode stay)"
        chown root "$storage_root"
    fi
fi

umask 022
release="$PREFIX/releases/$(date +%Y%m%dT%H%M%S)-$$"
say "installing into $release"
mkdir -p "$PREFIX/releases"
chown root:root "$PREFIX" "$PREFIX/releases"
chmod 0755 "$PREFIX" "$PREFIX/releases"

"$PYTHON" -m venv "$release" || die 1 "could not create a virtual environment in $release"
if [ -n "$WHEELS" ]; then
    [ -d "$WHEELS" ] || die 2 "--wheels: $WHEELS is not a directory"
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$WHEELS"
fi
if ! "$release/bin/python" -m pip install --quiet --disable-pip-version-check "$SOURCE_DIR"; then
    rm -rf "$release"
    die 1 "pip could not install datakeeper from $SOURCE_DIR (see the messages above)"
fi
# The command line loads each command (and answers --version) without importing the rest:
# import every command, the config model and the menu here, so a broken install stops now.
"$release/bin/python" -I -c 'import typer, datakeeper.config, datakeeper.tui
from datakeeper.cli.app import app
dict(typer.main.get_command(app).commands)' >/dev/null \
    && "$release/bin/datakeeper" --version >/dev/null \
    || { rm -rf "$release"; die 1 "the new install does not run"; }

ln -sfn "$release" "$PREFIX/current.new"
mv -T "$PREFIX/current.new" "$PREFIX/current"
mkdir -p "$BIN_DIR"
ln -sfn "$PREFIX/current/bin/datakeeper" "$BIN_DIR/datakeeper"

# Keep the two newest releases, so a bad upgrade can be rolled back by hand.
ls -1d "$PREFIX"/releases/*/ 2>/dev/null | sort | head -n -2 | while read -r old; do
    [ "$(readlink -f "$old")" = "$(readlink -f "$PREFIX/current")" ] || rm -rf "$old"
done

say "installed $("$BIN_DIR/datakeeper" --version) at $PREFIX/current; command: $BIN_DIR/datakeeper"
if [ $# -gt 0 ]; then
    exec "$BIN_DIR/datakeeper" "$@"
fi
