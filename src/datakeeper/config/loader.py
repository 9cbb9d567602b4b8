"""Find, read, parse and render the site config file.

Every problem becomes a one-line :class:`ConfigError` that names the file,
the key, the value and the fix. Nothing here reads the environment at import
time: paths are resolved when a command runs.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from datakeeper.config.messages import describe_errors
from datakeeper.config.rules import TOML_CONTEXT
from datakeeper.config.schema import SiteConfig
from datakeeper.errors import ConfigError
from datakeeper.i18n import _

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_TOML_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END_RE = re.compile(r"\s*\(at end of document\)$")


def load_config(path: Path, *, missing_ok: bool = False) -> SiteConfig:
    """Read and validate the config at ``path``; defaults when it is missing and ``missing_ok``."""
    if missing_ok and config_file_missing(path):
        return SiteConfig()
    return parse_config(_read_text(path), str(path))


def config_file_missing(path: Path) -> bool:
    """Whether nothing exists at ``path`` (a dangling link or an unreadable folder is not
    "missing": reading it then says what is wrong)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def parse_config(text: str, source: str) -> SiteConfig:
    """Validate TOML ``text``; ``source`` names it in messages. Raises one-line ConfigError."""
    config, problems = _validate(text, source)
    if config is not None:
        return config
    message = problems[0]
    if len(problems) > 1:
        more = _('(and {n} more; run "datakeeper config validate" to see all)')
        message += " " + more.format(n=len(problems) - 1)
    raise ConfigError(message)


def check_config(path: Path) -> list[str]:
    """Every problem with the config file at ``path``, one line each; empty when valid."""
    try:
        text = _read_text(path)
    except ConfigError as error:
        return [str(error)]
    return _validate(text, str(path))[1]


def config_to_dict(config: SiteConfig) -> dict[str, Any]:
    """The config as JSON-able data: paths as strings, modes as octal strings, None as null."""
    return config.model_dump(mode="json")


def render_config(config: SiteConfig) -> str:
    """The config as TOML with every effective value written out; parses back equal."""
    import tomlkit  # only `config show` needs it; at the top, ~4 ms (-X importtime) per load

    document = tomlkit.document()
    document.add(tomlkit.comment("datakeeper site config (every value shown, defaults included)"))
    document.add(tomlkit.nl())
    for key, value in config_to_dict(config).items():
        if value is None:
            # TOML has no null: an unset optional key is left out, shown as a hint.
            document.add(tomlkit.comment(_("{key} is not set yet").format(key=key)))
        else:
            document.add(key, _toml_ready(value))
    return document.as_string().rstrip("\n") + "\n"


def _toml_ready(value: Any) -> Any:
    """Nested None (no backup root, no hook) is written as "", which parses back to None."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {key: _toml_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_toml_ready(item) for item in value]
    return value


def _validate(text: str, source: str) -> tuple[SiteConfig | None, list[str]]:
    """The config, or None and every problem found."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return None, [_toml_error_line(error, text, source)]
    try:
        return SiteConfig.model_validate(raw, context=TOML_CONTEXT), []
    except ValidationError as error:
        problems = describe_errors(error, source, SiteConfig)
        return None, problems + _cross_section_problems(raw, error, source)


def _cross_section_problems(raw: dict[str, Any], error: ValidationError, source: str) -> list[str]:
    """Checks across sections only run once every section is valid; run them on the
    sections that are, so that ``config validate`` shows everything in one go."""
    failed = {str(details["loc"][0]) for details in error.errors() if details["loc"]}
    if not failed:
        return []  # the cross-section checks themselves failed: already reported
    rest = {key: value for key, value in raw.items() if key not in failed}
    try:
        SiteConfig.model_validate(rest, context={**TOML_CONTEXT, "skip": failed})
    except ValidationError as again:
        return describe_errors(again, source, SiteConfig)
    return []


def _toml_error_line(error: ValueError, text: str, source: str) -> str:
    """``file:LINE:COL: invalid TOML: reason`` from tomllib's message."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    position = _TOML_POSITION_RE.search(reason)
    if position:
        line, column = position.group(1), position.group(2)
        reason = reason[: position.start()]
    else:
        lines = text.split("\n")
        line, column = str(len(lines)), str(len(lines[-1]) + 1)
        reason = _TOML_END_RE.sub("", reason)
    return _("{source}:{line}:{column}: invalid TOML: {reason}").format(
        source=source, line=line, column=column, reason=reason
    )


def _read_text(path: Path) -> str:
    """The file's text, or a one-line ConfigError saying why it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        message = _("{path}: no such file; not set up yet? run 'sudo datakeeper init'")
        raise ConfigError(message.format(path=path)) from None
    except IsADirectoryError:
        message = _("{path}: is a directory; give the path of the .toml file")
        raise ConfigError(message.format(path=path)) from None
    except PermissionError:
        message = _("{path}: permission denied; run as root or make the file readable")
        raise ConfigError(message.format(path=path)) from None
    except OSError as error:
        message = _("{path}: cannot read ({reason}); check the path")
        raise ConfigError(message.format(path=path, reason=error.strerror)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        message = _("{path}: not UTF-8 text (byte {offset}); save it as UTF-8")
        raise ConfigError(message.format(path=path, offset=error.start)) from None
