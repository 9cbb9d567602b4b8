"""Nothing left running or scheduled as a user: no processes, no crontab, no at jobs.

Part of removing an account: a process started, or a job run, after its
account is gone would run under a uid that no longer has a name.
"""

from __future__ import annotations

from dataclasses import dataclass

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _, ngettext
from datakeeper.system import activity

PIDS_SHOWN = 10


@dataclass(frozen=True)
class ProcessesEnded(Resource):
    """No process runs with ``uid`` (the account ``name``)."""

    name: str
    uid: int

    @property
    def id(self) -> str:
        return f"processes {self.name}"

    def plan(self) -> list[Change]:
        running = activity.user_processes(self.uid)
        if not running:
            return []
        summary = ngettext(
            "end {n} process of {name} (SIGTERM, then SIGKILL after {s:g} s): {pids}",
            "end {n} processes of {name} (SIGTERM, then SIGKILL after {s:g} s): {pids}",
            len(running),
        ).format(n=len(running), name=self.name, s=activity.GRACE_SECONDS, pids=_pids(running))
        before = {"processes": [p.pid for p in running]}
        return [Change(self.id, summary, self._end, before, {"processes": []})]

    def _end(self) -> None:
        activity.end_processes(self.uid)


def _pids(running: list[activity.UserProcess]) -> str:
    shown = ", ".join(f"{p.pid} {p.name}" for p in running[:PIDS_SHOWN])
    return shown + (" …" if len(running) > PIDS_SHOWN else "")


@dataclass(frozen=True)
class CrontabAbsent(Resource):
    """User ``name`` has no crontab."""

    name: str

    @property
    def id(self) -> str:
        return f"crontab {self.name}"

    def plan(self) -> list[Change]:
        if not activity.has_crontab(self.name):
            return []
        summary = _("remove the crontab of {name}").format(name=self.name)
        action = lambda: activity.remove_crontab(self.name)  # noqa: E731
        return [Change(self.id, summary, action, {"crontab": True}, {"crontab": False})]


@dataclass(frozen=True)
class AtJobsAbsent(Resource):
    """User ``name`` has no pending at job."""

    name: str

    @property
    def id(self) -> str:
        return f"at jobs {self.name}"

    def plan(self) -> list[Change]:
        jobs = activity.at_jobs(self.name)
        if not jobs:
            return []
        summary = ngettext(
            "remove {n} at job of {name}: {jobs}", "remove {n} at jobs of {name}: {jobs}", len(jobs)
        ).format(n=len(jobs), name=self.name, jobs=" ".join(jobs))
        action = lambda: activity.remove_at_jobs(jobs)  # noqa: E731
        return [Change(self.id, summary, action, {"at_jobs": jobs}, {"at_jobs": []})]
