"""Pydantic's validation errors, rewritten as one line each for a person.

A line names the file, the dotted key (``folders[2].mode``), the offending
value as written in TOML, and what is allowed, e.g.
``/etc/x.toml: storage.data_root = "data": must be an absolute path, like "/data"``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from datakeeper.config.rules import Issue, Issues
from datakeeper.i18n import _

Loc = tuple[str | int, ...]
_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_MAX_VALUE_CHARS = 80


def describe_errors(error: ValidationError, source: str, model: type[BaseModel]) -> list[str]:
    """Every error in ``error`` as one line starting with ``source``."""
    return [
        f"{source}: {line}"
        for details in error.errors(include_url=False)
        for line in _describe(details, model)
    ]


def _describe(details: Any, model: type[BaseModel]) -> Iterator[str]:
    loc: Loc = tuple(details["loc"])
    kind = details["type"]
    exc = (details.get("ctx") or {}).get("error")
    if isinstance(exc, Issues | Issue):
        for issue in exc.issues if isinstance(exc, Issues) else [exc]:
            yield _issue_line(loc, details["input"], issue)
    elif kind == "extra_forbidden":
        yield _unknown_key_line(loc, model)
    elif kind == "missing":
        yield _("{key}: is required but missing").format(key=dotted(loc))
    else:
        text = _type_reason(kind) or details["msg"].splitlines()[0]
        yield _line(loc, details["input"], text)


def _type_reason(kind: str) -> str | None:
    """Our sentence for a pydantic type error (strict mode: no guessing)."""
    table = _("must be a table of keys and values")
    array = _('must be an array, like ["a", "b"]')
    return {
        "string_type": _('must be a string in quotes, like "text"'),
        "int_type": _("must be a whole number without quotes, like 30"),
        "bool_type": _("must be true or false, without quotes"),
        "tuple_type": array,
        "list_type": array,
        "dict_type": table,
        "model_type": table,
        "model_attributes_type": table,
    }.get(kind)


def _issue_line(loc: Loc, given: Any, issue: Issue) -> str:
    """An issue's own key extends the location; its value, if any, replaces the input."""
    if issue.value is not Issue.NO_VALUE:
        return _line(loc + issue.key, issue.value, issue.reason)
    if issue.key:
        return f"{dotted(loc + issue.key)}: {issue.reason}"
    return _line(loc, given, issue.reason)


def _line(loc: Loc, value: Any, reason: str) -> str:
    if not loc:
        return reason
    return f"{dotted(loc)} = {show_value(value)}: {reason}"


def _unknown_key_line(loc: Loc, model: type[BaseModel]) -> str:
    allowed = list(_model_at(model, loc[:-1]).model_fields)
    text = _("{key}: unknown key; allowed keys: {allowed}").format(
        key=dotted(loc), allowed=", ".join(allowed)
    )
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        text += " " + _('(did you mean "{name}"?)').format(name=close[0])
    return text


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel]:
    """The model a location points into (list indexes stay on the item model)."""
    for part in loc:
        if isinstance(part, int) or part not in model.model_fields:
            continue
        model = _find_model(model.model_fields[part].annotation) or model
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def dotted(loc: Sequence[str | int]) -> str:
    """``("folders", 2, "mode")`` as ``folders[2].mode``; odd keys are quoted as in TOML."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY_RE.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            text += f".{key}" if text else key
    return text


def show_value(value: Any) -> str:
    """A value as it would be written in TOML, on one line, shortened when long."""
    text = _toml_literal(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


def _toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{dotted([str(k)])} = {_toml_literal(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }" if value else "{}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(str(value), ensure_ascii=False)  # paths, dates
