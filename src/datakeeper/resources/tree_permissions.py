"""Owners, groups and modes of a whole tree, repaired as one bulk change.

The plan is a read-only survey (``system.safewalk.survey_tree``): how many
entries differ from what the rules want, and the first few of them. The one
change it returns walks the tree again and fixes it (``fix_tree``); its result
says what was actually fixed and what was left alone, and why. Entries that
would gain group write are counted in the plan's sentence and each one is
named in its ``before`` (``write_granted``): nobody's write access is widened
without the admin seeing where.
"""

from __future__ import annotations

from pathlib import Path

from datakeeper.engine.change import Change, Result
from datakeeper.engine.resource import Resource
from datakeeper.errors import ActionFailedError
from datakeeper.i18n import _, ngettext
from datakeeper.system.safewalk import Hook, Rules, WalkReport, fix_tree, survey_tree


class TreePermissions(Resource):
    """Every entry of the tree at ``top`` as ``rules`` want it (see ``safewalk``).

    ``report`` is what the last plan surveyed, or once the change ran, what it
    did; ``missing`` is True when the last plan found no tree at ``top``.
    """

    def __init__(self, top: Path, rules: Rules, hook: Hook | None = None) -> None:
        self.top = top
        self.rules = rules
        self.hook = hook  # tests: called just before an entry is opened for a change
        self.report = WalkReport()
        self.missing = False

    @property
    def id(self) -> str:
        return f"permissions {self.top}"

    def touches(self) -> tuple[Path, ...]:
        return (self.top,)

    def plan(self) -> list[Change]:
        try:
            self.report, self.missing = survey_tree(self.top, self.rules), False
        except FileNotFoundError:
            self.report, self.missing = WalkReport(), True
            return []
        counts = self.report.counts
        if not counts["changed"]:
            return []
        before = {"entries_to_fix": counts["changed"], "first": self.report.samples}
        if counts["write_granted"]:
            before["write_granted"] = self.report.granted
        return [Change(self.id, plan_sentence(self.top, counts), self._fix, before, {})]

    def _fix(self) -> Result:
        expected = self.report.entries  # what the plan's survey saw: the bar's total
        self.report = fix_tree(self.top, self.rules, self.hook, expected)
        done = result_sentence(self.report)
        if self.report.counts["errors"]:
            raise ActionFailedError(
                _("{path}: {done}; first: {problem}").format(
                    path=self.top, done=done, problem=self.report.problems[0]
                )
            )
        return Result(done)


def plan_sentence(top: Path, counts) -> str:
    """``fix 57 entries under /data/users/alice (group, mode)``; when some gain group
    write, ``...; 3 get group write`` at the end."""
    kinds = [
        word
        for key, word in (
            ("owner_changed", _("owner")),
            ("group_changed", _("group")),
            ("mode_changed", _("mode")),
        )
        if counts[key]
    ]
    text = ngettext(
        "fix {n} entry under {path} ({what})",
        "fix {n} entries under {path} ({what})",
        counts["changed"],
    ).format(n=counts["changed"], path=top, what=", ".join(kinds))
    if counts["write_granted"]:
        granted = counts["write_granted"]
        text += ngettext("; {n} gets group write", "; {n} get group write", granted).format(
            n=granted
        )
    return text


def result_sentence(report: WalkReport) -> str:
    """What a repair did: entries fixed (owner, group, mode), left alone, not changed."""
    counts = report.counts
    fixed = max(counts["changed"] - counts["errors"], 0)
    text = ngettext(
        "fixed {n} entry (owner {owner}, group {group}, mode {mode})",
        "fixed {n} entries (owner {owner}, group {group}, mode {mode})",
        fixed,
    ).format(
        n=fixed,
        owner=counts["owner_changed"],
        group=counts["group_changed"],
        mode=counts["mode_changed"],
    )
    if counts["write_granted"]:
        text += _("; group write given to {n}").format(n=counts["write_granted"])
    skipped = [_left_alone(key, counts[key]) for key in WalkReport.LEFT_ALONE if counts[key]]
    if skipped:
        text += _("; left alone: {what}").format(what=", ".join(skipped))
    if counts["errors"]:
        text += _("; {n} could not be changed").format(n=counts["errors"])
    return text


def _left_alone(key: str, n: int) -> str:
    """``2 symlinks``: one kind of entry a repair left alone, with its count."""
    sentences = {
        "symlinks": ngettext("{n} symlink", "{n} symlinks", n),
        "hard_links": ngettext(
            "{n} file with several hard links", "{n} files with several hard links", n
        ),
        "special_files": ngettext("{n} FIFO, socket or device", "{n} FIFOs, sockets or devices", n),
        "other_filesystems": _("{n} on other filesystems"),
        "excluded": ngettext("{n} folder that is not shared", "{n} folders that are not shared", n),
        "changed_during_walk": _("{n} changed while we looked"),
        "too_deep": _("{n} too deep"),
    }
    return sentences[key].format(n=n)
