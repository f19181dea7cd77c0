"""Bearer tokens: who may call the API, with which role, for which lab.

A token reads `tok_<16 hex>.<secret>`: the part before the dot is the token's id, public
(it is the actor recorded on every event the token writes, and what `tracker token list`
shows); the secret after it is 256 random bits, shown once and never stored.

Only the SHA-256 of the whole token is kept. A slow password hash (bcrypt, argon2) exists
to make guessing a *low-entropy* secret expensive; with 256 random bits there is nothing
to guess, so a fast hash loses nothing and keeps authentication cheap on every request.
Hashes are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import Engine

from domain.lab import SLUG_PATTERN
from domain.meta import Meta
from tracker.application.commands import RecordTokenCreated, RecordTokenRevoked
from tracker.application.rows import RowWrite
from tracker.application.service import TrackerApplication
from tracker.schema.access import API_TOKENS_TABLE, api_tokens

# Who an administrative command is recorded as when the operator does not say.
CLI_ACTOR = "cli"

# S608: the table name is a constant of the schema, never input.
_INSERT_TOKEN = (
    f"INSERT INTO {API_TOKENS_TABLE} (token_id, token_hash, role, lab, name, created_at,"  # noqa: S608
    " expires_at, person_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
_REVOKE_TOKEN = (
    f"UPDATE {API_TOKENS_TABLE} SET revoked_at = %s"  # noqa: S608
    " WHERE token_id = %s AND revoked_at IS NULL"
)

TOKEN_PATTERN = re.compile(r"(tok_[0-9a-f]{16})\.([A-Za-z0-9_-]{43})")
NAME_MAX_LENGTH = 200
# Compared against when the token id is unknown, so that a miss costs what a hit costs.
_NO_HASH = hashlib.sha256(b"no such token").hexdigest()


class Role(StrEnum):
    """What a token may do: admins manage labs, staff write their lab's projects, the
    others read (auditors also read the full history)."""

    ADMIN = "admin"
    STAFF = "staff"
    VIEWER = "viewer"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the token's id (never the token), role, lab and name."""

    token_id: str
    role: Role
    lab: str | None
    name: str


@dataclass(frozen=True)
class TokenInfo:
    """A token as `tracker token list` shows it: everything but its hash."""

    token_id: str
    role: Role
    lab: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None

    def state(self, now: datetime | None = None) -> str:
        """`active`, `revoked` or `expired`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC)):
            return "expired"
        return "active"


class TokenRequestError(ValueError):
    """A token cannot be created with these arguments."""


def _hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; tracker writes them in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def create_token(
    application: TrackerApplication,
    role: Role,
    lab: str | None = None,
    name: str = "",
    expires_in: timedelta | None = None,
    meta: Meta | None = None,
    person_id: str | None = None,
) -> tuple[str, str]:
    """Issue a token and return `(token_id, token)`; the token is shown only once.

    Its row is written with the admin log's `TokenCreated` event, in one transaction
    (`meta` defaults to the command line's actor). With `expires_in`, the token stops
    working that long after its creation (as if revoked then); without it, it works until
    revoked. With `person_id` (tracker_people), the token is the person's: histories show
    their name beside its id until they are forgotten.
    """
    role = Role(role)
    if expires_in is not None and expires_in <= timedelta(0):
        raise TokenRequestError("a token's lifetime must be positive")
    if role is Role.STAFF and not lab:
        raise TokenRequestError("a staff token needs a lab (--lab SLUG)")
    if role is not Role.STAFF and lab:
        raise TokenRequestError(f"only staff tokens belong to a lab, not {role.value} tokens")
    if lab is not None and not SLUG_PATTERN.fullmatch(lab):
        raise TokenRequestError(f"{lab!r} is not a lab slug")
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise TokenRequestError(f"a token's name holds at most {NAME_MAX_LENGTH} characters")
    token_id = f"tok_{secrets.token_hex(8)}"
    raw_token = f"{token_id}.{secrets.token_urlsafe(32)}"
    created_at = datetime.now(UTC)
    expires_at = created_at + expires_in if expires_in is not None else None
    row = RowWrite(
        _INSERT_TOKEN,
        (token_id, _hash(raw_token), role.value, lab, name, created_at, expires_at, person_id),
    )
    application.execute(
        RecordTokenCreated(token_id=token_id, role=role.value, lab=lab, writes=[row]),
        meta or _cli_meta(application),
    )
    return token_id, raw_token


def _cli_meta(application: TrackerApplication) -> Meta:
    return application.meta(CLI_ACTOR, f"cli-{uuid.uuid4()}")


def authenticate(engine: Engine, raw_token: str) -> Principal | None:
    """The principal a bearer token stands for, or None (unknown, malformed, revoked or
    expired)."""
    found = _authenticate(engine, raw_token)
    return found[0] if found is not None else None


def _authenticate(engine: Engine, raw_token: str) -> tuple[Principal, datetime | None] | None:
    # The principal and the token's expiry (None: until revoked).
    match = TOKEN_PATTERN.fullmatch(raw_token)
    if match is None:
        return None
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(api_tokens).where(api_tokens.c.token_id == match.group(1))
        ).first()
    stored_hash = row.token_hash if row is not None else _NO_HASH
    if not hmac.compare_digest(stored_hash, _hash(raw_token)):
        return None
    if row is None or row.revoked_at is not None:
        return None
    expires_at = _utc(row.expires_at)
    if expires_at is not None and expires_at <= datetime.now(UTC):
        return None
    principal = Principal(token_id=row.token_id, role=Role(row.role), lab=row.lab, name=row.name)
    return principal, expires_at


_caches: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


class PrincipalCache:
    """Principals authenticated in the last `ttl` seconds, so that a client's requests do not
    each read its token (`TRACKER_PRINCIPAL_CACHE_SECONDS`; 0 turns it off).

    What it trades: a token revoked by another process (`tracker token revoke`) keeps
    working in this one for at most `ttl` seconds after its last lookup here;
    `revoke_token` in this process forgets it at once. A token's own expiry is exact (an
    entry never outlives it), and unknown, revoked or expired tokens are never remembered,
    so a new token works at once. Entries are keyed by the token's SHA-256: the secret
    itself is not kept.
    """

    def __init__(self, ttl: float, max_size: int = 10_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._lock = threading.Lock()
        # token hash -> (principal, monotonic deadline)
        self._entries: dict[str, tuple[Principal, float]] = {}
        _caches.add(self)

    def get(self, raw_token: str) -> Principal | None:
        """The remembered principal for this token, or None (look it up)."""
        if self.ttl <= 0:
            return None
        key = _hash(raw_token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[1] <= time.monotonic():
                del self._entries[key]
                return None
            return entry[0]

    def authenticate(self, engine: Engine, raw_token: str) -> Principal | None:
        """`authenticate`, remembering a live token's principal (call from a worker thread)."""
        found = _authenticate(engine, raw_token)
        if found is None:
            return None
        principal, expires_at = found
        if self.ttl > 0:
            lifetime = self.ttl
            if expires_at is not None:
                lifetime = min(lifetime, (expires_at - datetime.now(UTC)).total_seconds())
            now = time.monotonic()
            with self._lock:
                if len(self._entries) >= self.max_size:
                    self._entries = {k: e for k, e in self._entries.items() if e[1] > now}
                    if len(self._entries) >= self.max_size:
                        self._entries.clear()
                self._entries[_hash(raw_token)] = (principal, now + lifetime)
        return principal

    def forget(self, token_id: str) -> None:
        """Drop the token's entry (revoked in this process)."""
        with self._lock:
            self._entries = {k: e for k, e in self._entries.items() if e[0].token_id != token_id}


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token ever created, oldest first, revoked ones included."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.token_id)
        ).all()
    return [
        TokenInfo(
            token_id=row.token_id,
            role=Role(row.role),
            lab=row.lab,
            name=row.name,
            created_at=_utc(row.created_at) or row.created_at,
            revoked_at=_utc(row.revoked_at),
            expires_at=_utc(row.expires_at),
        )
        for row in rows
    ]


def revoke_token(
    application: TrackerApplication, engine: Engine, token_id: str, meta: Meta | None = None
) -> bool:
    """Revoke a token at once, recording `TokenRevoked`; False when no live token has this id."""
    with engine.connect() as connection:
        live = connection.execute(
            sa.select(api_tokens.c.token_id).where(
                api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None)
            )
        ).first()
    if live is None:
        return False
    row = RowWrite(_REVOKE_TOKEN, (datetime.now(UTC), token_id))
    application.execute(
        RecordTokenRevoked(token_id=token_id, writes=[row]), meta or _cli_meta(application)
    )
    for cache in list(_caches):
        cache.forget(token_id)
    return True
