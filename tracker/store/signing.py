"""Ed25519 signatures of the log's running hash: what no insider without the key can forge.

A signed head states "the running hash of the log at position P is R" (rule
`tracker-signed-head-v1`, docs/audit.md "Signed heads"). The message signed is::

    b"tracker-signed-head-v1\\n" + f"{position}\\n{running_hash}\\n{signed_at}\\n{key_id}"

encoded as ASCII, where `signed_at` is the UTC time of signing as `YYYY-MM-DDTHH:MM:SSZ`
and `key_id` the first 16 hex digits of the SHA-256 of the raw 32-byte public key. The
signature and the public key are written as lowercase hex.

The private key lives in a file outside the database (`tracker audit keygen` makes one,
PKCS#8 PEM, mode 0600; `TRACKER_AUDIT_SIGNING_KEY_FILE` names it). The event store signs
every checkpoint it writes and, with the next save, the head whenever the latest signed
head is older than `TRACKER_AUDIT_HEAD_SIGNING_SECONDS` (tracker.store.chaining).
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

SIGNED_HEAD_RULE = "tracker-signed-head-v1"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class SigningKeyError(Exception):
    """The signing key file is missing, unreadable, not an Ed25519 key, or already exists."""


@dataclass(frozen=True)
class SignedHead:
    """A row of `tracker_audit_signatures`, or a witness: a running hash signed at a position."""

    position: int
    running_hash: str
    signed_at: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        """The bytes that were signed."""
        return signed_message(self.position, self.running_hash, self.signed_at, self.key_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def signed_message(position: int, running_hash: str, signed_at: str, key_id: str) -> bytes:
    """The message a signed head signs (see the module's docstring)."""
    return f"{SIGNED_HEAD_RULE}\n{int(position)}\n{running_hash}\n{signed_at}\n{key_id}".encode(
        "ascii"
    )


def key_id(public_key_hex: str) -> str:
    """A public key's id: the first 16 hex digits of the SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


def signature_is_valid(public_key_hex: str, head: SignedHead) -> bool:
    """True when `head.signature` is the key's signature of `head.message()`."""
    return bytes_signature_is_valid(public_key_hex, head.message(), head.signature)


def bytes_signature_is_valid(public_key_hex: str, data: bytes, signature_hex: str) -> bool:
    """True when `signature_hex` is the key's signature of `data` (an export's manifest)."""
    try:
        _public_key(public_key_hex).verify(bytes.fromhex(signature_hex), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@functools.lru_cache(maxsize=64)
def _public_key(public_key_hex: str) -> Ed25519PublicKey:
    # A log holds thousands of heads signed by a handful of keys: load each key once.
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))


def now_text() -> str:
    """The current UTC time, as signed heads write it."""
    return datetime.now(UTC).strftime(TIME_FORMAT)


def signed_age_seconds(signed_at: str, now: datetime | None = None) -> float:
    """How long ago a head was signed (infinite when its time cannot be read)."""
    try:
        then = datetime.strptime(signed_at, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return float("inf")
    return ((now or datetime.now(UTC)) - then).total_seconds()


class Signer:
    """The store's private signing key, read from its file once."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = raw.hex()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """Read a key file written by `generate_key_file`."""
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as error:
            msg = f"cannot read the signing key {path}: {error}"
            raise SigningKeyError(msg) from None
        if not isinstance(key, Ed25519PrivateKey):
            msg = f"{path} does not hold an Ed25519 private key"
            raise SigningKeyError(msg)
        return cls(key)

    def sign(self, position: int, running_hash: str, signed_at: str | None = None) -> SignedHead:
        """Sign the running hash at `position`, now (or at `signed_at`)."""
        when = signed_at or now_text()
        message = signed_message(position, running_hash, when, self.key_id)
        return SignedHead(position, running_hash, when, self.key_id, self._key.sign(message).hex())

    def sign_bytes(self, data: bytes) -> str:
        """Sign arbitrary bytes (an export's manifest); the hex signature."""
        return self._key.sign(data).hex()


def generate_key_file(path: Path) -> Signer:
    """Write a new Ed25519 private key to `path` (mode 0600, never over an existing file)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        msg = f"cannot create {path}: {error}"
        raise SigningKeyError(msg) from None
    with os.fdopen(fd, "wb") as stream:
        stream.write(pem)
    return Signer(key)
