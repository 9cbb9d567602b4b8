"""Schedules such as ``[backup] schedule``: the part of systemd's ``OnCalendar``
that cron can express too, so one config value works under both.

Accepted: ``hourly``, ``daily``, ``weekly``, ``monthly``, or a time of day
(``02:30``, ``*-*-* 02:30:00``) optionally after weekdays (``Mon..Fri 02:30``,
``Sat,Sun 04:00``). Anything else is refused with one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from datakeeper.i18n import _

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHORTCUTS = {  # systemd's meaning of each shortcut, as cron fields
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",
    "monthly": "0 0 1 * *",
}
_TIME_RE = re.compile(r"(?:\*-\*-\*\s+)?([01]?\d|2[0-3]):([0-5]\d)(?::00)?")
_DAY_PART_RE = re.compile(r"([A-Za-z]{3})(?:\.\.([A-Za-z]{3}))?")


@dataclass(frozen=True)
class Calendar:
    """One schedule, written for systemd (``on_calendar``) and for cron (``cron``)."""

    on_calendar: str
    cron: str


def parse_calendar(text: str) -> Calendar:
    """The schedule ``text`` names; ``ValueError`` with one sentence otherwise."""
    value = " ".join(text.split())
    if value.lower() in SHORTCUTS:
        return Calendar(value.lower(), SHORTCUTS[value.lower()])
    days, _sep, clock = value.rpartition(" ") if " " in value else ("", "", value)
    if days.endswith("*-*-*"):  # "Mon *-*-* 02:30": the date part is optional
        days, clock = days[: -len("*-*-*")].strip(), f"*-*-* {clock}"
    match = _TIME_RE.fullmatch(clock)
    if match is None:
        raise ValueError(_unknown(text))
    hour, minute = int(match.group(1)), int(match.group(2))
    numbers = _weekdays(days, text) if days else []
    weekday_text = _days_text(numbers)
    prefix = f"{weekday_text} " if weekday_text else ""
    on_calendar = f"{prefix}*-*-* {hour:02d}:{minute:02d}:00"
    every_day = not weekday_text
    cron_days = "*" if every_day else ",".join(str((n + 1) % 7) for n in numbers)
    return Calendar(on_calendar, f"{minute} {hour} * * {cron_days}")


def _weekdays(days: str, text: str) -> list[int]:
    """Weekday numbers (Mon=0) of ``Mon..Fri,Sun``."""
    numbers: set[int] = set()
    for part in days.split(","):
        match = _DAY_PART_RE.fullmatch(part.strip())
        if match is None:
            raise ValueError(_unknown(text))
        first = _day(match.group(1), text)
        last = _day(match.group(2), text) if match.group(2) else first
        if last < first:
            raise ValueError(_unknown(text))
        numbers.update(range(first, last + 1))
    return sorted(numbers)


def _day(name: str, text: str) -> int:
    try:
        return DAYS.index(name.capitalize())
    except ValueError:
        raise ValueError(_unknown(text)) from None


def _days_text(numbers: list[int]) -> str:
    """``Mon..Fri``, ``Sat,Sun``: every day is no prefix at all."""
    if len(numbers) in (0, 7):
        return ""
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"{DAYS[numbers[0]]}..{DAYS[numbers[-1]]}"
    return ",".join(DAYS[n] for n in numbers)


def _unknown(text: str) -> str:
    return _(
        "not a schedule datakeeper understands ({text!r}): use hourly, daily, weekly, "
        "monthly, or a time of day such as '02:30', 'Mon..Fri 02:30' or 'Sat,Sun 04:00'"
    ).format(text=text)
