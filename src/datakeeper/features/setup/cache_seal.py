"""Sealing the shared HuggingFace hub cache: no member can change another's download.

With the group umask (002) huggingface_hub leaves every blob group-writable
(0664, the mode of a probe file it creates next to the blob) and every folder
it makes group-writable without the sticky bit (only setgid is inherited). So
any member could append to another member's weights, or delete them and put
their own in place. No umask or default ACL can fix this at creation time: a
default ACL applies to files and folders alike, and folders must stay
group-writable for a second member to download into the same repo
(docs/trust-model.md shows the evidence).

So root seals each repo folder of the cache at every ``init``, ``recover``
and ``check --fix``: its folders get setgid and the sticky bit and become
root's (a member can add entries but can no longer remove or rename another's:
under the sticky bit the folder's owner still could, so no member may own
one), and every downloaded file loses group and other write. Two folders stay
as huggingface_hub needs them, group-writable without the sticky bit, their
owners and files untouched: ``.locks/`` (its lock files are 0664 so that a
second member can wait on them, and filelock refuses a lock file owned by
someone else in a sticky folder) and each repo's ``refs/`` (a member replaces
a branch's ref by a rename when the branch moves upstream). Both hold
pointers and locks, not content. The hub folder itself and the files directly
in it (``CACHEDIR.TAG``) are the FOLDERS step's business.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from datakeeper.resources.tree_permissions import TreePermissions
from datakeeper.system.safewalk import KEEP, Target

ROOT = 0
SEALED_DIR = stat.S_ISGID | stat.S_ISVTX
WRITE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


class SealRules:
    """Folders setgid, plus sticky and root-owned when ``sticky``; files without group
    and other write unless ``keep_files``. Groups never change, nobody gains access."""

    def __init__(self, *, sticky: bool = True, keep_files: bool = False) -> None:
        self.sticky = sticky
        self.keep_files = keep_files

    def directory(self, info: os.stat_result) -> Target:
        mode = stat.S_IMODE(info.st_mode)
        if not self.sticky:
            return (KEEP, KEEP, mode | stat.S_ISGID)
        return (ROOT, KEEP, mode | SEALED_DIR)

    def file(self, info: os.stat_result) -> Target:
        mode = stat.S_IMODE(info.st_mode)
        return (KEEP, KEEP, mode if self.keep_files else mode & ~WRITE_BY_OTHERS)

    def child(self, name: str) -> SealRules:
        return self


class RepoRules(SealRules):
    """``models--org--name/``: sealed, except ``refs/``, which stays replaceable."""

    def child(self, name: str) -> SealRules:
        return REFS if name == "refs" else SEALED


class HubRules(SealRules):
    """The hub folder: itself and its files as they are; ``.locks/`` shared; repos sealed."""

    def directory(self, info: os.stat_result) -> Target:
        return (KEEP, KEEP, stat.S_IMODE(info.st_mode))

    def child(self, name: str) -> SealRules:
        return LOCKS if name == ".locks" else REPO


SEALED = SealRules()
REFS = LOCKS = SealRules(sticky=False, keep_files=True)
REPO = RepoRules()
HUB = HubRules(keep_files=True)


def hub_cache_path(shared_env: dict[str, str]) -> Path | None:
    """The shared hub cache the site's environment names (``HF_HUB_CACHE``, else
    ``$HF_HOME/hub``), or None when the site shares no HuggingFace cache."""
    if shared_env.get("HF_HUB_CACHE"):
        return Path(shared_env["HF_HUB_CACHE"])
    if shared_env.get("HF_HOME"):
        return Path(shared_env["HF_HOME"]) / "hub"
    return None


def sealed_hub(shared_env: dict[str, str]) -> list[TreePermissions]:
    """The seal of the shared hub cache as a resource (none when there is no such cache)."""
    hub = hub_cache_path(shared_env)
    return [] if hub is None else [TreePermissions(hub, HUB)]
