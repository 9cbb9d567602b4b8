"""Per-user totals from the filesystem's quota accounting (``repquota``), when it keeps one.

A filesystem mounted with user quota (ext4 ``usrquota`` or the ``quota``
feature, XFS ``uquota``) knows how much each uid owns at every moment:
``repquota`` reads it at once, where walking the tree takes minutes. It
counts everything a user owns on that filesystem, wherever it lies.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from datakeeper.errors import CommandError
from datakeeper.i18n import _
from datakeeper.system import commands

KIB = 1024


@dataclass(frozen=True)
class QuotaRow:
    """What one uid owns on one filesystem."""

    uid: int
    bytes: int
    files: int


def user_usage(mountpoint: Path, *, timeout: float = 30) -> list[QuotaRow]:
    """Every uid's usage on the filesystem mounted at ``mountpoint``.

    Raises ``CommandError`` when ``repquota`` is missing or the filesystem
    keeps no user quota (its message says which).
    """
    # -n: numeric ids ("#1000"), so names come from our own lookup; CSV: stable
    # columns whatever the locale; LC_ALL=C keeps the header untranslated too.
    argv = ["env", "LC_ALL=C", "repquota", "-u", "-n", "-O", "csv", "--", str(mountpoint)]
    result = commands.run(argv, timeout=timeout)
    return parse_csv(result.stdout)


def parse_csv(text: str) -> list[QuotaRow]:
    """Rows of ``repquota -u -n -O csv``: name, statuses, then used space in KiB, files at 7."""
    rows = []
    for fields in csv.reader(io.StringIO(text)):
        if not fields or fields[0] in ("User", ""):
            continue
        if len(fields) < 8 or not fields[0].startswith("#"):
            raise CommandError(
                _("repquota printed a line datakeeper does not understand: {line}").format(
                    line=",".join(fields)
                )
            )
        try:
            rows.append(QuotaRow(int(fields[0][1:]), int(fields[3]) * KIB, int(fields[7])))
        except ValueError as error:
            raise CommandError(
                _("repquota printed a line datakeeper does not understand: {line}").format(
                    line=",".join(fields)
                )
            ) from error
    return rows
