"""SSH keys: every bad paste gets one exact line; good keys, generation, the keys file."""

from __future__ import annotations

import base64
import grp
import os
import pwd
import shutil
import stat
import struct
import subprocess
from pathlib import Path

import pytest

from datakeeper.engine import Executor
from datakeeper.errors import ConflictError, InvalidInputError
from datakeeper.features.users.keys import (
    GeneratedKey,
    generate_key_pair,
    read_key_source,
    validate_public_keys,
)
from datakeeper.resources.authorized_keys import AuthorizedKeys, RemovedKeys, remove_keys
from datakeeper.resources.private_key import StoredPrivateKey

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

DSA = (
    "ssh-dss AAAAB3NzaC1kc3MAAACBAMXrvAdXu5QsKUMdTf4HATrLf0VzoRcwCPOguJruPn/PjVAiliwQc0G4Z3T7laCp"
    "2dmz9t/vZwMA0zqE2J5iCejAPvW0PgIxxa0AVJxXliFXGtNbQhqITwnlZ+ufi0Q5NUd8OgqpL9N9/Karep7q3i9hTPkr"
    "lS3q5bhkd5lJA6OVAAAAFQCstKg2sa0AR/krARcFkaOxm8fJPwAAAIEAhc+8g87oRwxNmW0nYYS8DH+qRrloOjTji9lL"
    "9Pb7IrDxq/NZBMhxItVKrAS3uqfljKBmm2i01IWUB+pyVMyWMchXXomTV1KqbSadO+3zn04NE2JF6gU73/vfj69dDDYA"
    "L+6Nn9gKxXL99v4696TalgbFcerMvLGXgFfooJybMQkAAACBAJe/OkRnPQ/sqf0ywowXTnGphoOzKce0Wm2oPjtiRKEZ"
    "YbRa7qffSpc4iwMR1njt8TFLL7V2pQUqvQowvARpKbtudC8MQCb6EaMjec9oSPcGYYgmdScpo7VzFNSaWhyuGYTp/tmB"
    "CSVZaq/Mt5pfAi/AhllfPiJYM09WfGzbLW58 old dsa"
)
PRIVATE_HINT = "this is a PRIVATE key; paste the .pub file (e.g. ~/.ssh/id_ed25519.pub)"
OPTIONS = "key options ({}) are not allowed; paste the key from 'ssh-ed25519' on"
DAMAGED = "ssh-keygen cannot read the key (damaged or truncated); copy the whole line"
CONTROL = "contains a control character (NUL, CR, …); paste one plain line"
NO_KEY = "no SSH public key given; paste the content of a .pub file"
TYPES = (
    "ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa, "
    "sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com"
)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(n: int) -> bytes:
    return _string(n.to_bytes((n.bit_length() + 8) // 8, "big"))


def rsa(bits: int, comment: str = "rsa") -> str:
    """An RSA public key of exactly ``bits`` (ssh-keygen -l reads it; never used to log in)."""
    blob = _string(b"ssh-rsa") + _mpint(65537) + _mpint((1 << (bits - 1)) | 1)
    return f"ssh-rsa {base64.b64encode(blob).decode()} {comment}"


def sk_ed25519() -> str:
    blob = _string(b"sk-ssh-ed25519@openssh.com") + _string(bytes(range(32))) + _string(b"ssh:")
    return f"sk-ssh-ed25519@openssh.com {base64.b64encode(blob).decode()} yubikey"


def keygen(directory: Path, kind: str, *bits: str, comment: str = "me@laptop") -> Path:
    path = directory / f"id_{kind}{''.join(bits)}_{len(list(directory.iterdir()))}"
    argv = ["ssh-keygen", "-q", "-t", kind, *(("-b", *bits) if bits else ()), "-N", ""]
    subprocess.run([*argv, "-C", comment, "-f", str(path)], check=True)
    return path


def fingerprint_of(path: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True)
    return out.stdout.split()[1]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """Private key paths made with ssh-keygen (the .pub next to each)."""
    directory = tmp_path_factory.mktemp("keys")
    return {
        "ed25519": keygen(directory, "ed25519"),
        "ecdsa256": keygen(directory, "ecdsa", "256"),
        "ed25519-b": keygen(directory, "ed25519", comment="second key"),
    }


@pytest.fixture(scope="module")
def ed(made) -> str:
    return made["ed25519"].with_suffix(".pub").read_text().strip()


# -- bad input: one exact line each -------------------------------------------------


BAD = (
    "private-openssh",
    "private-after-a-good-key",
    "private-pem-rsa",
    "private-putty",
    "truncated-base64",
    "truncated-damaged",
    "truncated-short",
    "type-only",
    "wrong-base64",
    "type-mismatch",
    "garbage",
    "option-command",
    "option-no-pty",
    "option-permitopen",
    "option-from",
    "option-restrict-x11",
    "unterminated-quote",
    "rsa-1024",
    "rsa-2048",
    "dsa",
    "unknown-type",
    "certificate",
    "empty",
    "only-comments",
    "newline-injection",
    "carriage-return-injection",
    "nul-injection",
    "vertical-tab",
    "unicode-line-separator",
    "ssh2-format",
    "pem-public-key",
    "too-long",
)


def bad_cases(ed: str, private: str) -> list[tuple[str, str]]:
    kind, blob, _comment = ed.split(" ", 2)
    return [
        (private, f"SSH key line 1: {PRIVATE_HINT}"),
        (f"{ed}\n{private}", f"SSH key line 2: {PRIVATE_HINT}"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA", f"SSH key line 1: {PRIVATE_HINT}"),
        ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none", f"SSH key line 1: {PRIVATE_HINT}"),
        (
            f"{kind} {blob[:41]}",
            "SSH key line 1: the key is truncated (incomplete base64); copy the whole line",
        ),
        (f"{kind} {blob[:48]} me", f"SSH key line 1: {DAMAGED}"),
        (
            f"{kind} {blob[:12]}",
            "SSH key line 1: the key is truncated (its data ends early); copy the whole line",
        ),
        (
            kind,
            "SSH key line 1: the key data is missing after 'ssh-ed25519'; copy the whole line",
        ),
        (
            f"{kind} {blob[:20]}*{blob[21:]}",
            "SSH key line 1: the key data is not valid base64; copy the line of the .pub file "
            "unchanged",
        ),
        (
            f"ssh-rsa {blob}",
            "SSH key line 1: the line says 'ssh-rsa' but the key data is 'ssh-ed25519'; copy the "
            "line unchanged",
        ),
        (
            "hello world",
            "SSH key line 1: not an SSH public key (expected 'TYPE KEY [COMMENT]'); paste the "
            "content of a .pub file",
        ),
        (f'command="rm -rf ~" {ed}', "SSH key line 1: " + OPTIONS.format("command=")),
        (f"no-pty {ed}", "SSH key line 1: " + OPTIONS.format("no-pty")),
        (f'permitopen="10.0.0.1:22" {ed}', "SSH key line 1: " + OPTIONS.format("permitopen=")),
        (f'from="10.0.0.0/8",no-pty {ed}', "SSH key line 1: " + OPTIONS.format("from=, no-pty")),
        (
            f"Restrict,X11-Forwarding {ed}",
            "SSH key line 1: " + OPTIONS.format("restrict, x11-forwarding"),
        ),
        (
            f'command="x {ed}',
            "SSH key line 1: has an unterminated quote; paste the .pub file unchanged",
        ),
        (
            rsa(1024),
            "SSH key line 1: RSA key of 1024 bits is too weak; use ed25519 or RSA >= 3072",
        ),
        (
            f"{ed}\n{rsa(2048)}",
            "SSH key line 2: RSA key of 2048 bits is too weak; use ed25519 or RSA >= 3072",
        ),
        (
            DSA,
            "SSH key line 1: DSA keys are insecure and refused by OpenSSH; use ed25519 "
            "(ssh-keygen -t ed25519)",
        ),
        (
            f"ssh-foo {blob}",
            f"SSH key line 1: unsupported key type 'ssh-foo'; use one of {TYPES}",
        ),
        (
            f"ssh-ed25519-cert-v01@openssh.com {blob}",
            "SSH key line 1: unsupported key type 'ssh-ed25519-cert-v01@openssh.com'; use one of "
            f"{TYPES}",
        ),
        ("", NO_KEY),
        ("\n   \n# only a comment\n", NO_KEY),
        (f'{ed}\ncommand="/bin/sh" {ed}', "SSH key line 2: " + OPTIONS.format("command=")),
        (f"{ed}\rcommand=x", f"SSH key line 1: {CONTROL}"),
        (f"{ed}\x00 {ed}", f"SSH key line 1: {CONTROL}"),
        (f"{ed}\x0bno-pty", f"SSH key line 1: {CONTROL}"),
        (f"{ed}\u2028evil", f"SSH key line 1: {CONTROL}"),
        (
            "---- BEGIN SSH2 PUBLIC KEY ----\nComment: me",
            "SSH key line 1: this is an SSH2 (RFC 4716) key; convert it with "
            "'ssh-keygen -i -f FILE'",
        ),
        (
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
            "SSH key line 1: this is PEM, not an SSH key; convert it: ssh-keygen -i -m PKCS8 -f "
            "FILE",
        ),
        (
            f"{kind} {'A' * 17000}",
            "SSH key line 1: longer than 16384 characters; paste one key per line",
        ),
    ]


@pytest.mark.parametrize("case", BAD)
def test_bad_key_gets_its_exact_one_line_message(made, ed, case):
    cases = dict(zip(BAD, bad_cases(ed, made["ed25519"].read_text()), strict=True))
    text, message = cases[case]
    with pytest.raises(InvalidInputError) as caught:
        validate_public_keys(text)
    assert str(caught.value) == message


def test_no_message_ever_shows_private_key_material(made):
    private = made["ed25519"].read_text()
    secret_lines = [line for line in private.splitlines() if "-----" not in line]
    with pytest.raises(InvalidInputError) as caught:
        validate_public_keys(private)
    assert not any(line in str(caught.value) for line in secret_lines)


def test_options_are_kept_when_allowed_and_unknown_ones_refused(ed):
    (key,) = validate_public_keys(f'no-pty,command="backup --now" {ed}', allow_options=True)
    assert key.options == 'no-pty,command="backup --now"'
    assert key.line == f'no-pty,command="backup --now" {ed}'
    with pytest.raises(InvalidInputError) as caught:
        validate_public_keys(f"frobnicate {ed}", allow_options=True)
    assert str(caught.value) == (
        "SSH key line 1: unknown key option 'frobnicate'; "
        "see AUTHORIZED_KEYS FILE FORMAT in sshd(8)"
    )


def test_source_names_the_file_in_messages():
    with pytest.raises(InvalidInputError) as caught:
        validate_public_keys(rsa(1024), source="/root/bob.pub")
    assert str(caught.value).startswith("/root/bob.pub line 1: RSA key of 1024 bits")


# -- good keys ------------------------------------------------------------------------


def test_ed25519_key_is_accepted_with_its_fingerprint(made, ed):
    (key,) = validate_public_keys(ed + "\n")
    assert (key.type, key.bits, key.comment) == ("ssh-ed25519", 256, "me@laptop")
    assert key.fingerprint == fingerprint_of(made["ed25519"])
    assert key.line == ed


@pytest.mark.parametrize(("bits", "ok"), [(3072, True), (4096, True), (3071, False)])
def test_rsa_boundary_is_3072_bits(bits, ok):
    if not ok:
        with pytest.raises(InvalidInputError, match="3071 bits is too weak"):
            validate_public_keys(rsa(bits))
        return
    (key,) = validate_public_keys(rsa(bits))
    assert (key.type, key.bits) == ("ssh-rsa", bits)


def test_ecdsa_and_security_keys_are_accepted(made):
    ecdsa = made["ecdsa256"].with_suffix(".pub").read_text()
    first, second = validate_public_keys(ecdsa + sk_ed25519())
    assert (first.type, first.bits) == ("ecdsa-sha2-nistp256", 256)
    assert (second.type, second.comment) == ("sk-ssh-ed25519@openssh.com", "yubikey")


def test_several_keys_comments_blank_lines_and_crlf(made, ed):
    other = made["ed25519-b"].with_suffix(".pub").read_text().strip()
    text = f"# laptop\r\n{ed}\r\n\r\n  {other}  \r\n# desktop\r\n"
    keys = validate_public_keys(text)
    assert [k.line for k in keys] == [ed, other]
    assert keys[1].comment == "second key"


def test_comment_whitespace_is_normalized_and_duplicates_collapse(ed):
    kind, blob, _comment = ed.split(" ", 2)
    keys = validate_public_keys(f"{kind}\t{blob}   alice   at  home\n{kind} {blob} again")
    assert len(keys) == 1
    assert keys[0].comment == "alice at home"
    assert keys[0].line == f"{kind} {blob} alice at home"


def test_a_key_without_comment(ed):
    kind, blob, _comment = ed.split(" ", 2)
    (key,) = validate_public_keys(f"{kind} {blob}")
    assert (key.comment, key.line) == ("", f"{kind} {blob}")


# -- --ssh-key FILE ---------------------------------------------------------------------


def test_read_key_source_reads_a_pub_file(made, ed):
    assert read_key_source(str(made["ed25519"].with_suffix(".pub"))).strip() == ed


def test_read_key_source_refuses_private_big_missing_and_special_files(made, tmp_path):
    private = str(made["ed25519"])
    big = tmp_path / "big.pub"
    big.write_text("#" * (64 * 1024 + 1))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    expected = {
        private: f"{private}: this is a PRIVATE key; give the .pub file (e.g. {private}.pub)",
        str(big): f"{big}: larger than 64 KiB; give a .pub file",
        str(tmp_path / "nope.pub"): f"{tmp_path}/nope.pub: no such file; give a .pub file",
        str(fifo): f"{fifo}: cannot read it (not a regular file); give a .pub file",
        str(tmp_path): f"{tmp_path}: cannot read it (not a regular file); give a .pub file",
    }
    for path, message in expected.items():
        with pytest.raises(InvalidInputError) as caught:
            read_key_source(path)
        assert str(caught.value) == message


# -- generation ---------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _key_file(key: GeneratedKey, keys_dir: Path, user: str) -> StoredPrivateKey:
    return StoredPrivateKey(user, key.kind, keys_dir, key.private_key_path, key.fingerprint)


def store_private_key(key: GeneratedKey, keys_dir: Path, user: str) -> Path:
    """Keep the private key through its resource, as ``user add`` does."""
    [change] = Executor().converge([_key_file(key, keys_dir, user)]).applied
    assert not key.private_key_path.exists()  # moved, not copied
    key.discard()
    return Path(change.after["path"])


@pytest.mark.parametrize(
    ("kind", "key_type", "bits"),
    [
        ("ed25519", "ssh-ed25519", 256),
        ("rsa", "ssh-rsa", 4096),
        ("ecdsa", "ecdsa-sha2-nistp521", 521),
    ],
)
def test_generate_each_kind_and_store_it(tmp_path, kind, key_type, bits):
    key = generate_key_pair(kind, "alice@lab", tmp_path)
    assert _mode(key.workdir) == 0o700
    assert _mode(key.private_key_path) == 0o600
    assert key.private_key_path.stat().st_uid == os.geteuid()
    (public,) = validate_public_keys(key.public_key)
    assert (public.type, public.bits, public.comment) == (key_type, bits, "alice@lab")
    assert key.fingerprint == public.fingerprint == fingerprint_of(key.private_key_path)
    stored = store_private_key(key, tmp_path / "keys", "alice")
    assert stored == tmp_path / "keys" / f"alice_{kind}"
    assert (_mode(stored), _mode(stored.parent)) == (0o600, 0o700)
    assert fingerprint_of(stored) == key.fingerprint
    assert not key.workdir.exists()


def test_store_never_overwrites_and_tightens_the_keys_dir(tmp_path):
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o755)
    first = store_private_key(generate_key_pair("ed25519", "a", tmp_path), keys_dir, "bob")
    second = store_private_key(generate_key_pair("ed25519", "b", tmp_path), keys_dir, "bob")
    assert first.name == "bob_ed25519"
    assert second.name.startswith("bob_ed25519_2")
    assert first.read_text() != second.read_text()
    assert _mode(keys_dir) == 0o700


def test_store_refuses_a_symlinked_keys_dir_and_odd_names(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "keys").symlink_to(tmp_path / "elsewhere")
    key = generate_key_pair("ed25519", "a", tmp_path)
    with pytest.raises(ConflictError, match="not a real directory"):
        store_private_key(key, tmp_path / "keys", "bob")
    with pytest.raises(InvalidInputError, match="cannot name a key file"):
        store_private_key(key, tmp_path / "k2", "../bob")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_the_stored_key_plan_names_path_and_fingerprint_never_the_key(tmp_path):
    key = generate_key_pair("ed25519", "a", tmp_path)
    resource = _key_file(key, tmp_path / "keys", "carol")
    [change] = Executor().plan([resource])
    path = tmp_path / "keys" / "carol_ed25519"
    assert change.summary == (
        f"keep carol's new ed25519 private key ({key.fingerprint}) in {path} "
        "(0600, root only) until it is handed over"
    )
    assert change.after == {"path": str(path), "mode": "0600", "fingerprint": key.fingerprint}
    secret = key.private_key_text().splitlines()[1]
    assert secret not in repr(change.as_dict())
    Executor().converge([resource])
    assert Executor().plan([resource]) == []  # stored: a converged key plans nothing
    assert fingerprint_of(path) == key.fingerprint


def test_a_dry_run_plans_the_key_and_writes_nothing(tmp_path):
    resource = StoredPrivateKey("dave", "rsa", tmp_path / "keys")  # no pair made in a dry run
    outcome = Executor(dry_run=True).converge([resource])
    [change] = outcome.planned
    assert change.summary.startswith("generate an rsa key pair for dave and keep the private key")
    assert change.after["path"] == str(tmp_path / "keys" / "dave_rsa")
    assert outcome.applied == [] and list(tmp_path.iterdir()) == []


def test_generate_refuses_unknown_kinds_and_multiline_comments(tmp_path):
    with pytest.raises(InvalidInputError) as caught:
        generate_key_pair("dsa", "a", tmp_path)
    assert str(caught.value) == "key kind 'dsa': use one of ed25519, rsa, ecdsa"
    with pytest.raises(InvalidInputError, match="one line"):
        generate_key_pair("ed25519", "a\nb", tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- the keys file (as whoever runs the tests: no root needed) ----------------------------


@pytest.fixture
def me() -> tuple[str, str]:
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


def test_authorized_keys_converge_then_plan_nothing(tmp_path, me, ed):
    home = tmp_path / "home"
    home.mkdir(mode=0o775)
    os.chmod(home, 0o2775)  # noqa: S103 - the group-writable home under test
    resource = AuthorizedKeys(home, *me, (ed,))
    summaries = [c.summary for c in resource.plan()]
    assert summaries[0] == (
        f"make {home} not group- or other-writable (2775 -> 2755): OpenSSH's StrictModes "
        "refuses key logins to a home that others can write"
    )
    assert summaries[1] == f"create {home}/.ssh ({me[0]}:{me[1]} 0700)"
    assert summaries[2].startswith(f"add 1 SSH key to {home}/.ssh/authorized_keys")
    Executor().converge([resource])
    assert (_mode(home), _mode(home / ".ssh")) == (0o2755, 0o700)
    assert _mode(home / ".ssh/authorized_keys") == 0o600
    assert (home / ".ssh/authorized_keys").read_text() == f"{ed}\n"
    assert resource.plan() == []


def test_keys_are_compared_by_data_and_others_kept(tmp_path, me, ed, made):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    kind, blob, _comment = ed.split(" ", 2)
    own = "# mine\nrestrict " + made["ed25519-b"].with_suffix(".pub").read_text().strip()
    (home / ".ssh/authorized_keys").write_text(f"{own}\n{kind} {blob} renamed")
    os.chmod(home / ".ssh/authorized_keys", 0o644)
    resource = AuthorizedKeys(home, *me, (ed, rsa(4096)))
    (change,) = resource.plan()
    Executor().converge([resource])
    assert (home / ".ssh/authorized_keys").read_text() == (
        f"{own}\n{kind} {blob} renamed\n{rsa(4096)}\n"
    )
    assert change.summary.endswith(validate_public_keys(rsa(4096))[0].fingerprint)
    assert _mode(home / ".ssh/authorized_keys") == 0o600


def test_a_symlinked_ssh_dir_or_keys_file_is_a_conflict(tmp_path, me, ed):
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "target").mkdir()
    (home / ".ssh").symlink_to(tmp_path / "target")
    with pytest.raises(ConflictError, match="is a symlink or not a directory"):
        AuthorizedKeys(home, *me, (ed,)).plan()
    (home / ".ssh").unlink()
    (home / ".ssh").mkdir(mode=0o700)
    (home / ".ssh/authorized_keys").symlink_to(tmp_path / "target/x")
    with pytest.raises(ConflictError, match="is a symlink or not a regular file"):
        AuthorizedKeys(home, *me, (ed,)).plan()


def test_remove_keys_by_fingerprint(tmp_path, me, ed, made):
    other = made["ed25519-b"].with_suffix(".pub").read_text().strip()
    fp = validate_public_keys(ed)[0].fingerprint
    text = f"# keep me\nno-pty {ed}\n{other}\n{ed}\n"
    assert remove_keys(text, (fp,)) == (f"# keep me\n{other}\n", (fp,))
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    Executor().converge([AuthorizedKeys(home, *me, (ed, other))])
    resource = RemovedKeys(home, *me, (fp,))
    assert [c.summary for c in resource.plan()] == [
        f"remove 1 SSH key from {home}/.ssh/authorized_keys: {fp}"
    ]
    Executor().converge([resource])
    assert (home / ".ssh/authorized_keys").read_text() == f"{other}\n"
    assert resource.plan() == []
    assert RemovedKeys(home, *me, ("SHA256:unknown",)).plan() == []
