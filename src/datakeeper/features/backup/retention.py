"""Which snapshots retention keeps, as restic's ``forget --keep-*`` decides.

Newest first, a policy "keep N daily" keeps a snapshot when it is the newest
of a day not yet kept, until N days are kept; the same for hours, ISO weeks
and months. A snapshot kept by any policy stays. The newest snapshot always
stays, whatever the policy says. A pure function of the times: no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

Bucket = Callable[[datetime], tuple[int, ...]]

BUCKETS: dict[str, Bucket] = {
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: tuple(t.isocalendar()[:2]),
    "monthly": lambda t: (t.year, t.month),
}


@dataclass(frozen=True)
class Retention:
    """How many of each period to keep (0: that policy keeps nothing)."""

    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0


def keep(times: Iterable[datetime], policy: Retention) -> dict[datetime, list[str]]:
    """The times to keep, each with the policies that keep it ("daily", "newest"…)."""
    newest_first = sorted(set(times), reverse=True)
    kept: dict[datetime, list[str]] = {}
    if newest_first:
        kept[newest_first[0]] = ["newest"]
    for name, bucket in BUCKETS.items():
        left = getattr(policy, name)
        last: tuple[int, ...] | None = None
        for when in newest_first:
            if left <= 0:
                break
            if bucket(when) != last:
                last = bucket(when)
                kept.setdefault(when, []).append(name)
                left -= 1
    return kept
