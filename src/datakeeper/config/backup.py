"""The ``[backup]`` section: what ``datakeeper backup`` copies, keeps and checks.

Snapshots always hold the users folder; ``sources`` adds other folders below
data_root (off by default: datasets and code are large). Retention keeps N
hourly, daily, weekly and monthly snapshots, as restic's ``forget --keep-*``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from datakeeper.config import rules
from datakeeper.config.calendar import parse_calendar
from datakeeper.config.sections import FolderPath, _Model

Keep = Annotated[int, AfterValidator(rules.int_range(0, 1000))]
Sources = Annotated[
    tuple[FolderPath, ...], BeforeValidator(rules.as_tuple), AfterValidator(rules.unique_items)
]


def _schedule(value: str) -> str:
    """A schedule both systemd and cron can run (see config/calendar.py), normalized."""
    try:
        return parse_calendar(value).on_calendar
    except ValueError as error:
        raise rules.Issue(str(error)) from None


Schedule = Annotated[str, AfterValidator(_schedule)]
DEFAULT_SCHEDULE = "*-*-* 02:30:00"  # nightly, when training jobs are least disturbed


class BackupConfig(_Model):
    """Snapshots on the backup root: extra sources, retention, checks, niceness."""

    sources: Sources = ()
    schedule: Schedule = DEFAULT_SCHEDULE  # `backup enable`: a systemd timer or cron
    keep_hourly: Keep = 0
    keep_daily: Keep = 7
    keep_weekly: Keep = 4
    keep_monthly: Keep = 6
    # Share of files (chosen by path, so the same ones every time) whose content is
    # hashed in the manifest; the others are checked by size and mtime only.
    verify_sample_percent: Annotated[int, AfterValidator(rules.int_range(1, 100))] = 100
    nice: Annotated[int, AfterValidator(rules.int_range(0, 19))] = 10
    ionice_idle: bool = True  # ionice -c3: disk time only when nobody else wants it
    bwlimit_kib: Annotated[int, AfterValidator(rules.int_range(0, 10_000_000))] = 0
