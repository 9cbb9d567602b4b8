"""The action log's stable ``code`` of a change: ``<kind>.<operation>``.

Sentences are for people and follow the reader's language; programs that read
the log (``log show --json``, a SIEM reading syslog's JSON) match on the code,
which never changes with the language. It is built here and only here, from
the resource's kind and the change's operation, never from a sentence:

- the kind is ``Resource.code_kind``, or the class name in snake case
  (``UserAccount`` sets ``account``, ``Directory`` is ``directory``);
- the operation is ``Change.operation`` when the resource names it (``lock``,
  ``enable``), else it follows from the change's secret-free shape: a change
  that leaves something absent ``remove``s it, one that can be undone or has
  only an ``after`` ``create``s it, one with only a ``before`` ``remove``s
  it, one with both ``update``s it, and one with neither ``apply``s.
"""

from __future__ import annotations

import re

from datakeeper.engine.change import Change
from datakeeper.engine.effects import AbsentAt
from datakeeper.engine.resource import Resource

CODE_PATTERN = re.compile(r"[a-z_]+(\.[a-z_]+)+")
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def resource_kind(kind: type[Resource]) -> str:
    """``directory`` for ``Directory``: the class's ``code_kind``, or its name in snake case."""
    if kind.code_kind:
        return kind.code_kind
    return _WORD_START.sub("_", kind.__name__).lower().strip("_")


def operation(change: Change) -> str:
    """What the change does, in one stable English word (see the module docstring)."""
    if change.operation:
        return change.operation
    if any(isinstance(effect, AbsentAt) for effect in change.effects):
        return "remove"
    if change.undo is not None or (change.before is None and change.after is not None):
        return "create"
    if change.before is not None:
        return "remove" if change.after is None else "update"
    return "apply"


def change_code(resource: Resource, change: Change) -> str:
    """``directory.create``: the code the action log keeps for ``change`` of ``resource``."""
    return f"{resource_kind(type(resource))}.{operation(change)}"
