"""Resources that download, and the verified download itself.

A ``Downloader`` is a resource whose changes fetch from the network (an
installer, an OS package, a Python tool). Recovery at boot leaves every
downloader out: the network may not be up yet, and what it brings back lives
on persistent storage already.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from datakeeper.engine.resource import Resource
from datakeeper.errors import CommandError, ConfigError, RefusedError
from datakeeper.i18n import _
from datakeeper.progress import tracked

CHUNK = 1024 * 1024


class Downloader(Resource):
    """A resource whose changes download (see the module)."""


def download_verified(url: str, sha256: str, destination: Path, timeout: float) -> None:
    """Stream ``url`` into the new file ``destination`` (0600) while hashing it.

    Raises ``CommandError`` (one line: the URL and why) when the download fails
    and ``RefusedError`` when the bytes do not have the SHA-256 ``sha256``.
    """
    digest = hashlib.sha256()
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in _fetch(url, timeout):
            digest.update(chunk)
            out.write(chunk)
    actual = digest.hexdigest()
    if actual != sha256:
        raise RefusedError(
            _(
                "refusing to run the installer from {url}: its SHA-256 is {actual}, expected "
                "{expected}; the download is damaged or not the file the config names"
            ).format(url=url, actual=actual, expected=sha256)
        )


def _fetch(url: str, timeout: float) -> Iterator[bytes]:
    """The body of ``url`` in chunks; network trouble becomes a one-line CommandError."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(_("{url}: only http:// and https:// URLs are downloaded").format(url=url))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked)
            total = _content_length(response)
            with tracked(_("downloading {url}").format(url=url), total, "bytes") as progress:
                while chunk := response.read(CHUNK):
                    progress.advance(len(chunk))
                    yield chunk
    except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
        message = _("cannot download {url}: {reason}; check the URL and the network")
        reason = _describe(error, timeout)
        raise CommandError(message.format(url=url, reason=reason)) from error


def _content_length(response: http.client.HTTPResponse) -> int | None:
    """The size the server announced, or ``None`` (chunked or missing)."""
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def _describe(reason: object, timeout: float) -> str:
    """Why a download failed, in a few words."""
    if isinstance(reason, urllib.error.HTTPError):
        return _("HTTP error {code} {reason}").format(code=reason.code, reason=reason.reason)
    if isinstance(reason, urllib.error.URLError):
        reason = reason.reason
    if isinstance(reason, TimeoutError | socket.timeout):
        return _("timed out after {s} s").format(s=f"{timeout:g}")
    if isinstance(reason, ConnectionRefusedError):
        return _("connection refused")
    if isinstance(reason, socket.gaierror):
        return _("host not found ({detail})").format(detail=reason.strerror)
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return " ".join(str(reason).split()) or type(reason).__name__
