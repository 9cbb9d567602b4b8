"""SSH public keys for an account: validate what the admin pastes, or generate a pair.

Every key is checked by ``ssh-keygen -l`` itself (argument list, key on stdin);
our own checks before it only turn the usual mistakes (a private key, a cut-off
line, options, a weak key) into one line that says what to do instead.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _
from datakeeper.system import commands, sshkeys
from datakeeper.system.sshkeys import KEY_TYPE_PREFIX, split_options

ACCEPTED_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
MIN_RSA_BITS = 3072
MAX_LINE = 16384  # sshd's own limit on a public key
MAX_SOURCE = 64 * 1024
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
LOOSE_TYPE = re.compile(r"[a-z0-9][a-z0-9@._+]*-[a-z0-9@._+-]+")
PRIVATE_MARKERS = ("-----BEGIN OPENSSH PRIVATE KEY-----", "PRIVATE KEY-----")
GENERATE_ARGS = {
    "ed25519": ("-t", "ed25519"),
    "rsa": ("-t", "rsa", "-b", "4096"),
    "ecdsa": ("-t", "ecdsa", "-b", "521"),
}


@dataclass(frozen=True)
class PublicKey:
    """A validated public key; ``line`` is what goes into ``authorized_keys``."""

    type: str
    bits: int
    fingerprint: str
    comment: str
    line: str
    options: str = ""


@dataclass(frozen=True)
class GeneratedKey:
    """A fresh key pair in a root-only temp dir; the private half is kept by the
    ``StoredPrivateKey`` resource or printed, then the temp dir is discarded."""

    kind: str
    private_key_path: Path
    public_key: str
    fingerprint: str
    workdir: Path = field(repr=False)

    def private_key_text(self) -> str:
        """The private key (a secret: never log it)."""
        return self.private_key_path.read_text()

    def discard(self) -> None:
        """Delete the temp dir with both halves."""
        shutil.rmtree(self.workdir, ignore_errors=True)


class _BadLine(Exception):
    """A problem with one line; the caller adds the line number."""


# -- validation -----------------------------------------------------------------


def validate_public_keys(
    text: str, *, allow_options: bool = False, source: str = ""
) -> list[PublicKey]:
    """Every public key in ``text`` (one per line), checked; duplicates collapsed.

    Raises ``InvalidInputError`` naming the first bad line and the fix. ``source``
    (a file name) is added to messages when given.
    """
    keys: dict[str, PublicKey] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        try:
            key = _check_line(raw.removesuffix("\r"), allow_options)
        except _BadLine as problem:
            where = _("{source} line {n}") if source else _("SSH key line {n}")
            where = where.format(source=source, n=number)
            raise InvalidInputError(f"{where}: {problem}") from None
        if key is not None:
            keys.setdefault(key.fingerprint, key)
    if not keys:
        raise InvalidInputError(_("no SSH public key given; paste the content of a .pub file"))
    return list(keys.values())


def _check_line(raw: str, allow_options: bool) -> PublicKey | None:
    if CONTROL.search(raw):
        raise _BadLine(_("contains a control character (NUL, CR, …); paste one plain line"))
    line = raw.strip(" \t")
    if not line or line.startswith("#"):
        return None
    if len(line) > MAX_LINE:
        raise _BadLine(_("longer than {n} characters; paste one key per line").format(n=MAX_LINE))
    _refuse_other_formats(line)
    options, rest = _split_key(line)
    if options and not allow_options:
        raise _BadLine(
            _("key options ({names}) are not allowed; paste the key from '{type}' on").format(
                names=", ".join(sshkeys.option_names(options)), type=rest.split()[0]
            )
        )
    _check_options(options)
    return _check_key(options, rest.split())


def _refuse_other_formats(line: str) -> None:
    if any(marker in line for marker in PRIVATE_MARKERS) or line.startswith("PuTTY-User-Key-File"):
        raise _BadLine(_("this is a PRIVATE key; paste the .pub file (e.g. ~/.ssh/id_ed25519.pub)"))
    if line.startswith("---- BEGIN SSH2 PUBLIC KEY"):
        raise _BadLine(_("this is an SSH2 (RFC 4716) key; convert it with 'ssh-keygen -i -f FILE'"))
    if line.startswith("-----BEGIN"):
        raise _BadLine(_("this is PEM, not an SSH key; convert it: ssh-keygen -i -m PKCS8 -f FILE"))


def _split_key(line: str) -> tuple[str, str]:
    """(options, 'type base64 comment'); raises for lines that hold no key."""
    first = line.split()[0]
    if KEY_TYPE_PREFIX.fullmatch(first):
        return "", line
    try:
        options, rest = split_options(line)
    except ValueError:
        raise _BadLine(_("has an unterminated quote; paste the .pub file unchanged")) from None
    if rest and KEY_TYPE_PREFIX.fullmatch(rest.split()[0]):
        return options, rest
    tokens = line.split()
    if LOOSE_TYPE.fullmatch(first) and len(tokens) > 1 and tokens[1].startswith("AAAA"):
        raise _BadLine(_unsupported(first))
    raise _BadLine(
        _("not an SSH public key (expected 'TYPE KEY [COMMENT]'); paste the content of a .pub file")
    )


def _check_options(options: str) -> None:
    for name in sshkeys.option_names(options) if options else []:
        if name.rstrip("=") not in sshkeys.KNOWN_OPTIONS:
            raise _BadLine(
                _("unknown key option '{name}'; see AUTHORIZED_KEYS FILE FORMAT in sshd(8)").format(
                    name=name.rstrip("=")[:40]
                )
            )


def _unsupported(key_type: str) -> str:
    if key_type == "ssh-dss":
        return _(
            "DSA keys are insecure and refused by OpenSSH; use ed25519 (ssh-keygen -t ed25519)"
        )
    return _("unsupported key type '{type}'; use one of {allowed}").format(
        type=key_type[:64], allowed=", ".join(ACCEPTED_TYPES)
    )


def _check_key(options: str, tokens: list[str]) -> PublicKey:
    key_type = tokens[0]
    if key_type not in ACCEPTED_TYPES:
        raise _BadLine(_unsupported(key_type))
    if len(tokens) < 2:
        raise _BadLine(
            _("the key data is missing after '{type}'; copy the whole line").format(type=key_type)
        )
    _check_blob(key_type, tokens[1])
    bits, fingerprint = _keygen_fingerprint(key_type, tokens[1])
    if key_type == "ssh-rsa" and bits < MIN_RSA_BITS:
        raise _BadLine(
            _("RSA key of {bits} bits is too weak; use ed25519 or RSA >= {min}").format(
                bits=bits, min=MIN_RSA_BITS
            )
        )
    comment = " ".join(tokens[2:])
    line = " ".join(part for part in (options, key_type, tokens[1], comment) if part)
    return PublicKey(key_type, bits, fingerprint, comment, line, options)


def _check_blob(key_type: str, blob: str) -> None:
    if not BASE64.fullmatch(blob):
        raise _BadLine(
            _("the key data is not valid base64; copy the line of the .pub file unchanged")
        )
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise _BadLine(_("the key is truncated (incomplete base64); copy the whole line")) from None
    length = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else len(raw)
    if len(raw) < 4 + length:
        raise _BadLine(_("the key is truncated (its data ends early); copy the whole line"))
    inner = raw[4 : 4 + length].decode("ascii", errors="replace")
    if inner != key_type:
        raise _BadLine(
            _(
                "the line says '{type}' but the key data is '{inner}'; copy the line unchanged"
            ).format(type=key_type, inner=inner[:64] if LOOSE_TYPE.fullmatch(inner) else "?")
        )


def _keygen_fingerprint(key_type: str, blob: str) -> tuple[int, str]:
    found = sshkeys.keygen_fingerprint(key_type, blob)
    if found is None:
        raise _BadLine(
            _("ssh-keygen cannot read the key (damaged or truncated); copy the whole line")
        )
    return found


def read_key_source(value: str) -> str:
    """Text of the public key file ``value`` (``--ssh-key FILE``), refusing private keys.

    Only a regular file of at most 64 KiB is read; the keys are validated later
    by ``validate_public_keys``.
    """
    try:
        data = sshkeys.read_regular_file(Path(value), MAX_SOURCE + 1)
    except FileNotFoundError:
        raise InvalidInputError(
            _("{path}: no such file; give a .pub file").format(path=value)
        ) from None
    except OSError as error:
        raise InvalidInputError(
            _("{path}: cannot read it ({why}); give a .pub file").format(
                path=value, why=error.strerror
            )
        ) from None
    if len(data) > MAX_SOURCE:
        raise InvalidInputError(
            _("{path}: larger than 64 KiB; give a .pub file").format(path=value)
        )
    text = data.decode("utf-8", errors="replace")
    if any(marker in text for marker in PRIVATE_MARKERS) or "PuTTY-User-Key-File" in text:
        raise InvalidInputError(
            _("{path}: this is a PRIVATE key; give the .pub file (e.g. {path}.pub)").format(
                path=value
            )
        )
    return text


# -- generation -----------------------------------------------------------------


def check_key_kind(kind: str) -> None:
    """Raise ``InvalidInputError`` unless ``generate_key_pair`` can make a ``kind`` key."""
    if kind not in GENERATE_ARGS:
        raise InvalidInputError(
            _("key kind '{kind}': use one of {allowed}").format(
                kind=kind[:32], allowed=", ".join(GENERATE_ARGS)
            )
        )


def generate_key_pair(kind: str, comment: str, directory: Path) -> GeneratedKey:
    """A new key pair (ed25519, rsa 4096, ecdsa 521) in a root-only temp dir under ``directory``."""
    check_key_kind(kind)
    if CONTROL.search(comment) or len(comment) > 200:
        raise InvalidInputError(_("key comment: one line of at most 200 characters"))
    workdir = Path(tempfile.mkdtemp(prefix=".datakeeper-key-", dir=directory))
    try:
        return _generate_in(workdir, kind, comment)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _generate_in(workdir: Path, kind: str, comment: str) -> GeneratedKey:
    private = workdir / f"id_{kind}"
    argv = ["ssh-keygen", "-q", *GENERATE_ARGS[kind], "-N", "", "-C", comment, "-f", str(private)]
    commands.run(argv, timeout=300)
    os.chmod(private, 0o600)
    key = validate_public_keys(private.with_suffix(".pub").read_text())[0]
    return GeneratedKey(kind, private, key.line, key.fingerprint, workdir)
