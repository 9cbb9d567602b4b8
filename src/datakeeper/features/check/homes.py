"""Each registered user's home layout on disk against the one the registry records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datakeeper.errors import DatakeeperError
from datakeeper.features.check.result import FAIL, PASS, CheckResult
from datakeeper.features.users.layouts import broken_links, layout_of, ssh_chain_problem
from datakeeper.i18n import _
from datakeeper.registry import RegistryEntry, read_document
from datakeeper.system import accounts
from datakeeper.text import printable

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

GROUP = "HOMES"
SAMPLES = 5  # broken links named; the rest are counted


def check_home_layouts(cfg: SiteConfig) -> list[CheckResult]:
    """One line per registered account that exists here: PASS when its home has the
    recorded layout, FAIL with what was found and the command that fixes it."""
    try:
        document = read_document(cfg.registry_path)
    except (DatakeeperError, OSError):
        return []  # the registry's own line (REGISTRY) says what is wrong with it
    entries = sorted(document.users.values(), key=lambda e: e.name)
    # A missing account is the registry check's line (and the advice to recover).
    return [_home_line(cfg, e) for e in entries if accounts.user_by_name(e.name) is not None]


def _home_line(cfg: SiteConfig, entry: RegistryEntry) -> CheckResult:
    subject = _("home of {name} ({layout})").format(name=entry.name, layout=entry.home_layout)
    found = layout_of(cfg, entry.name)
    problem = ssh_chain_problem(cfg) if entry.home_layout == "hybrid" else None
    if found == entry.home_layout:
        return (
            CheckResult(GROUP, subject, FAIL, problem)
            if problem
            else CheckResult(GROUP, subject, PASS)
        )
    return CheckResult(GROUP, subject, FAIL, layout_drift(cfg, entry, found))


def layout_drift(cfg: SiteConfig, entry: RegistryEntry, found: str | None) -> str:
    """The drift in one sentence, with the command that fixes it."""
    name, recorded = entry.name, entry.home_layout
    if found is not None:
        return _(
            "recorded as {recorded}, but the home is {found}: run 'datakeeper user migrate "
            "{name} --to {recorded}'"
        ).format(recorded=recorded, found=found, name=name)
    if recorded == "hybrid":
        missing = [printable(link) for link in broken_links(cfg, name)]
        shown = ", ".join(missing[:SAMPLES]) + (" …" if len(missing) > SAMPLES else "")
        return _(
            "hybrid home incomplete: missing or wrong links: {links}; "
            "'sudo datakeeper recover' makes them"
        ).format(links=shown)
    return _(
        "/home/{name} is not a link to the persistent home; 'sudo datakeeper recover' "
        "makes it (a directory found there is merged into the persistent home first)"
    ).format(name=name)
