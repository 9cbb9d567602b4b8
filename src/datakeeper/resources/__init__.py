"""Resource types: each compares one wanted thing with the system and plans changes."""

from datakeeper.resources.account import UserAccount
from datakeeper.resources.cache_cleanup import CacheCleanup
from datakeeper.resources.directory import Directory
from datakeeper.resources.file import ManagedFile
from datakeeper.resources.group import Group, GroupMembership
from datakeeper.resources.sudoers import SudoersDropIn
from datakeeper.resources.symlink import Symlink
from datakeeper.resources.tree_permissions import TreePermissions

__all__ = [
    "CacheCleanup",
    "Directory",
    "Group",
    "GroupMembership",
    "ManagedFile",
    "SudoersDropIn",
    "Symlink",
    "TreePermissions",
    "UserAccount",
]
