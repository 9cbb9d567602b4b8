"""The ``[gpu]`` section: the optional rule that reports forgotten GPU holders.

``idle_minutes`` (0, the default, means no rule): a process that holds GPU memory while its
GPU has been at 0 % utilisation for at least this many minutes is reported by
the alert (``datakeeper disk alert``: log, hook, exit 1), like a full disk.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from datakeeper.config import rules
from datakeeper.config.sections import _Model

MAX_IDLE_MINUTES = 24 * 60  # a day: the samples kept in /run go back one day (gpu/idle.py)
IdleMinutes = Annotated[int, AfterValidator(rules.int_range(0, MAX_IDLE_MINUTES))]


class GpuConfig(_Model):
    """GPU alert rule: minutes a process may hold memory on an idle GPU (0: no rule)."""

    idle_minutes: IdleMinutes = 0
