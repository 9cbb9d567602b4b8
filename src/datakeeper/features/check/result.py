"""What ``datakeeper check`` reports: one PASS / FAIL / SKIP line per item, and the total.

The types live below every check module (run, audits), so the checks import
them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datakeeper.i18n import _
from datakeeper.status import CheckStatus

PASS, FAIL, SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP
WARN = CheckStatus.WARN


@dataclass(frozen=True)
class CheckResult:
    group: str
    subject: str
    status: CheckStatus
    detail: str = ""

    def as_dict(self) -> dict:
        return vars(self)


@dataclass
class CheckReport:
    results: list[CheckResult]
    # What to do first, before the lines (e.g. accounts missing after a wipe: recover).
    advice: list[str] = field(default_factory=list)
    next_command: str | None = None  # the one command that fixes most of the FAILs

    def count(self, status: CheckStatus) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count(FAIL) == 0

    def summary(self) -> str:
        line = _("{p} passed, {f} failed, {s} skipped").format(
            p=self.count(PASS), f=self.count(FAIL), s=self.count(SKIP)
        )
        if self.next_command and not self.ok:
            line += "; " + _("run '{command}' first").format(command=self.next_command)
        return line

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "passed": self.count(PASS),
            "failed": self.count(FAIL),
            "skipped": self.count(SKIP),
            "advice": self.advice,
            "next_command": self.next_command,
            "results": [r.as_dict() for r in self.results],
        }
