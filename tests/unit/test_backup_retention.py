"""Retention keeps what restic's ``forget --keep-*`` keeps, on a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from datakeeper.features.backup.retention import Retention, keep

START = datetime(2026, 1, 1, 0, 30, tzinfo=timezone.utc)  # a Thursday


def every(step: timedelta, count: int) -> list[datetime]:
    """A fake clock: ``count`` snapshot times, ``step`` apart, from START."""
    return [START + step * index for index in range(count)]


def test_keep_daily_keeps_the_newest_of_each_of_the_last_n_days():
    times = every(timedelta(hours=6), 4 * 10)  # ten days, four snapshots a day
    kept = keep(times, Retention(daily=3))
    days = sorted(when for when, why in kept.items() if "daily" in why)
    assert days == [START + timedelta(days=d, hours=18) for d in (7, 8, 9)]
    assert set(kept) == set(days)  # the newest is one of them


def test_policies_add_up_and_a_snapshot_kept_twice_counts_once():
    times = every(timedelta(hours=1), 24 * 60)  # sixty days, hourly
    kept = keep(times, Retention(hourly=5, daily=3, weekly=2, monthly=2))
    newest = times[-1]
    assert kept[newest] == ["newest", "hourly", "daily", "weekly", "monthly"]
    assert sum("hourly" in why for why in kept.values()) == 5
    assert sum("monthly" in why for why in kept.values()) == 2
    # The newest is Sunday 1 March 23:30: five hours of it, then the last of
    # 28 February (a day and a month) and 27 February (a day), and Sunday
    # 22 February (the week before).
    older = sorted(when for when in kept if when.day != 1)
    assert [(w.month, w.day, w.hour) for w in older] == [(2, 22, 23), (2, 27, 23), (2, 28, 23)]
    assert kept[older[-1]] == ["daily", "monthly"]


def test_the_newest_is_kept_even_when_every_policy_is_zero():
    times = every(timedelta(days=1), 5)
    assert keep(times, Retention()) == {times[-1]: ["newest"]}


def test_weeks_are_iso_weeks_and_months_calendar_months():
    times = [
        datetime(2026, 3, 29, 12, tzinfo=timezone.utc),  # Sunday, ISO week 13
        datetime(2026, 3, 30, 12, tzinfo=timezone.utc),  # Monday, ISO week 14
        datetime(2026, 3, 31, 12, tzinfo=timezone.utc),  # Tuesday, week 14, March
        datetime(2026, 4, 1, 12, tzinfo=timezone.utc),  # April
    ]
    weekly = keep(times, Retention(weekly=2))
    assert sorted(weekly) == [times[0], times[3]]
    monthly = keep(times, Retention(monthly=5))
    assert sorted(monthly) == [times[2], times[3]]


def test_no_snapshots_keeps_nothing():
    assert keep([], Retention(daily=7)) == {}
