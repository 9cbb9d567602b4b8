"""A tiny HuggingFace Hub on loopback: enough of the API for ``hf_hub_download``.

``hf_hub_download`` sends ``HEAD /{repo}/resolve/{revision}/{file}`` and reads
``X-Repo-Commit``, ``X-Linked-Etag`` (an LFS file's sha256, the blob's name in
the cache) and ``X-Linked-Size``; then it ``GET``s the same URL. The server
streams each file slowly so that two clients started together really overlap
inside huggingface_hub's ``.locks`` file lock.

Run inside a sandbox server: ``python -m tests.support.fake_hub PORT PIDFILE``;
the test ends it by the pid written to PIDFILE, and reads the requests it
served, with their times, in PIDFILE.log.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = "org/tiny"
COMMIT = hashlib.sha1(b"tiny-main").hexdigest()  # noqa: S324 - a name, not security
FILES: dict[str, bytes] = {
    "config.json": b'{"model_type": "tiny"}\n',
    "model.safetensors": bytes(range(256)) * 512,  # 128 KiB of "weights"
    "tokenizer.json": b'{"vocab": {"a": 0}}\n' * 4096,  # 80 KiB
}
CHUNK, PAUSE = 8192, 0.05  # 16 chunks of the weights: about 0.8 s per download


def etag(content: bytes) -> str:
    """The LFS etag of ``content``: its sha256, which names the blob in the cache."""
    return hashlib.sha256(content).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """``/{REPO}/resolve/{main|COMMIT}/{file}``, HEAD and GET; anything else is a 404."""

    def _file(self) -> bytes | None:
        prefix = f"/{REPO}/resolve/"
        if not self.path.startswith(prefix):
            return None
        revision, _sep, name = self.path[len(prefix) :].partition("/")
        return FILES.get(name) if revision in ("main", COMMIT) else None

    def _headers(self, content: bytes | None) -> None:
        if content is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{etag(content)}"')
        self.send_header("X-Linked-Etag", f'"{etag(content)}"')
        self.send_header("X-Linked-Size", str(len(content)))
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()

    def do_HEAD(self) -> None:
        began = time.time()
        self._headers(self._file())
        self._log("HEAD", began)

    def do_GET(self) -> None:
        began = time.time()
        content = self._file()
        self._headers(content)
        for start in range(0, len(content or b""), CHUNK):
            self.wfile.write(content[start : start + CHUNK])
            self.wfile.flush()
            time.sleep(PAUSE)
        self._log("GET", began)

    def _log(self, method: str, began: float) -> None:
        """One line per request, ``METHOD PATH BEGAN ENDED``, so a test can see overlaps."""
        with open(self.server.request_log, "a") as log:  # type: ignore[attr-defined]
            log.write(f"{method} {self.path} {began:.3f} {time.time():.3f}\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(port: int, pidfile: str) -> None:
    """Serve on 127.0.0.1:``port`` until killed; the pid goes to ``pidfile`` once listening,
    and each request to ``pidfile``.log."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.request_log = f"{pidfile}.log"  # type: ignore[attr-defined]
    with open(pidfile, "w") as out:
        out.write(f"{os.getpid()}\n")
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
