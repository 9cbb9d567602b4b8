"""Runs inside a disposable server: plan or apply the shared-software resources.

Used by sandbox tests as ``python -m tests.support.software_driver MODE TOML``
(MODE is ``plan`` or ``apply``; TOML is the site config's text). Prints the
outcome as JSON; a datakeeper error prints ``{"error": ..., "type": ...}`` and
exits with its exit code. Also holds the fake Miniconda installer the tests
serve over HTTP (no test may reach the real repo.anaconda.com).
"""

from __future__ import annotations

import hashlib
import sys

from datakeeper.config import parse_config
from datakeeper.engine import Executor
from datakeeper.features.setup.software import software_resources
from datakeeper.storage import StorageGuard
from tests.support.driver import outcome, report

# Honours "-b -p PREFIX" like the real one: refuses an existing prefix, creates
# bin/conda, condabin/conda and etc/profile.d/conda.sh, which (like the real
# one) defines a conda function and puts condabin on PATH.
FAKE_INSTALLER = r"""#!/bin/bash
set -eu
prefix=""
while [ $# -gt 0 ]; do
    case "$1" in
        -b) shift ;;
        -p) prefix="$2"; shift 2 ;;
        *) echo "fake installer: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$prefix" ] || { echo "fake installer: no -p PREFIX" >&2; exit 2; }
if [ -e "$prefix" ]; then echo "ERROR: File or directory already exists: $prefix" >&2; exit 1; fi
mkdir -p "$prefix/bin" "$prefix/condabin" "$prefix/etc/profile.d"
printf '#!/bin/sh\necho "conda 24.7.1 (fake)"\n' > "$prefix/bin/conda"
cp "$prefix/bin/conda" "$prefix/condabin/conda"
chmod 755 "$prefix/bin/conda" "$prefix/condabin/conda"
cat > "$prefix/etc/profile.d/conda.sh" <<EOF
export CONDA_EXE='$prefix/bin/conda'
conda() { "\$CONDA_EXE" "\$@"; }
case ":\$PATH:" in
    *":$prefix/condabin:"*) ;;
    *) PATH="$prefix/condabin:\$PATH"; export PATH ;;
esac
EOF
echo "installed fake Miniconda into $prefix"
"""


def fake_installer() -> bytes:
    """The fake installer's bytes."""
    return FAKE_INSTALLER.encode()


def fake_installer_sha256() -> str:
    """The SHA-256 a config must name to accept the fake installer."""
    return hashlib.sha256(fake_installer()).hexdigest()


def main() -> int:
    mode, text = sys.argv[1], sys.argv[2]

    def work() -> dict:
        cfg = parse_config(text, "test config")
        guard = StorageGuard([cfg.storage.data_root])
        return outcome(mode, software_resources(cfg), Executor(guard=guard))

    return report(work)


if __name__ == "__main__":
    sys.exit(main())
