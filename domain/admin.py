"""The AdminLog aggregate: administrative actions recorded as events, for auditors.

One stream per store (a fixed id), chained and verified like every other stream. Events
name pseudonymous ids only (token ids, person ids), never names or secrets.
"""

from __future__ import annotations

from datetime import date
from typing import cast
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValueError
from domain.meta import Meta

ADMIN_LOG_ID = uuid5(NAMESPACE_URL, "https://tracker.example/admin-log")


def _require_id(value: str, what: str) -> str:
    trimmed = value.strip()
    if not 1 <= len(trimmed) <= 200:
        raise InvalidValueError(f"{what} needs 1 to 200 characters")
    return trimmed


def _require_count(value: int, what: str) -> int:
    if value < 0:
        raise InvalidValueError(f"{what} cannot be negative, got {value}")
    return value


class AdminLog(Aggregate):
    """The store's administrative history: tokens, rebuilds, imports, audits, erasures."""

    class Event(Aggregate.Event):
        """Every admin event records who, in which request, when, and why."""

        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            cast(AdminLog, aggregate).entries += 1

    class AdminLogOpened(Aggregate.Created):
        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

    def __init__(
        self, actor: str, correlation_id: str, occurred_on: date, reason: str | None
    ) -> None:
        self.entries = 0

    @classmethod
    def open(cls, meta: Meta) -> AdminLog:
        """Open the store's admin log (once: its id is fixed)."""
        return cls._create(cls.AdminLogOpened, id=ADMIN_LOG_ID, **meta.event_fields())

    class TokenCreated(Event):
        token_id: str
        role: str
        lab: str | None

    def token_created(
        self,
        meta: Meta,
        token_id: str,
        role: str,
        lab: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Record that a bearer token was issued (its id and role, never the secret)."""
        self.trigger_event(
            self.TokenCreated,
            token_id=_require_id(token_id, "token_id"),
            role=_require_id(role, "role"),
            lab=lab,
            **meta.event_fields(reason),
        )

    class TokenRevoked(Event):
        token_id: str

    def token_revoked(self, meta: Meta, token_id: str, reason: str | None = None) -> None:
        """Record that a bearer token was revoked."""
        self.trigger_event(
            self.TokenRevoked,
            token_id=_require_id(token_id, "token_id"),
            **meta.event_fields(reason),
        )

    class ProjectionsRebuilt(Event):
        projections: list[str]
        position: int
        checked: bool
        differences: int

    def projections_rebuilt(
        self,
        meta: Meta,
        projections: list[str],
        position: int,
        checked: bool = False,
        differences: int = 0,
        reason: str | None = None,
    ) -> None:
        """Record a rebuild (or a `--check`) of read models up to a log position."""
        self.trigger_event(
            self.ProjectionsRebuilt,
            projections=[_require_id(p, "projection name") for p in projections],
            position=_require_count(position, "position"),
            checked=checked,
            differences=_require_count(differences, "differences"),
            **meta.event_fields(reason),
        )

    class EventsImported(Event):
        count: int
        last_position: int
        running_hash: str
        file_sha256: str

    def events_imported(
        self,
        meta: Meta,
        count: int,
        last_position: int,
        running_hash: str,
        file_sha256: str,
        reason: str | None = None,
    ) -> None:
        """Record an import of an export file into this store."""
        self.trigger_event(
            self.EventsImported,
            count=_require_count(count, "count"),
            last_position=_require_count(last_position, "last_position"),
            running_hash=_require_id(running_hash, "running_hash"),
            file_sha256=_require_id(file_sha256, "file_sha256"),
            **meta.event_fields(reason),
        )

    class AuditVerified(Event):
        events: int
        last_position: int
        findings: int
        intact: bool

    def audit_verified(
        self,
        meta: Meta,
        events: int,
        last_position: int,
        findings: int,
        reason: str | None = None,
    ) -> None:
        """Record a verification of the log's hash chains and what it found."""
        self.trigger_event(
            self.AuditVerified,
            events=_require_count(events, "events"),
            last_position=_require_count(last_position, "last_position"),
            findings=_require_count(findings, "findings"),
            intact=findings == 0,
            **meta.event_fields(reason),
        )

    class PersonForgotten(Event):
        person_id: str

    def person_forgotten(self, meta: Meta, person_id: str, reason: str | None = None) -> None:
        """Record that a person's name was erased (the event names the pseudonymous id only)."""
        self.trigger_event(
            self.PersonForgotten,
            person_id=_require_id(person_id, "person_id"),
            **meta.event_fields(reason),
        )

    class SigningKeyAdopted(Event):
        """The store began signing its history with this key (a first key, or a rotation)."""

        key_id: str
        public_key: str

        def apply(self, aggregate: Aggregate) -> None:
            log = cast(AdminLog, aggregate)
            log.entries += 1
            # Copied, not mutated: snapshots and cached copies never share the dict.
            log.signing_keys = {**log.signing_keys, self.key_id: self.public_key}

    @property
    def signing_keys(self) -> dict[str, str]:
        """Every signing key adopted so far: public key (hex) by key id."""
        # Absent from states saved before keys existed (their snapshots).
        keys: dict[str, str] = self.__dict__.get("_signing_keys", {})
        return keys

    @signing_keys.setter
    def signing_keys(self, keys: dict[str, str]) -> None:
        self.__dict__["_signing_keys"] = keys

    def signing_key_adopted(
        self, meta: Meta, key_id: str, public_key: str, reason: str | None = None
    ) -> None:
        """Record the store's signing key, unless it is recorded already (publishes its key)."""
        if self.signing_keys.get(key_id) == public_key:
            return
        self.trigger_event(
            self.SigningKeyAdopted,
            key_id=_require_id(key_id, "key_id"),
            public_key=_require_id(public_key, "public_key"),
            **meta.event_fields(reason),
        )


ADMIN_ACTIONS = frozenset(
    {
        "token_created",
        "token_revoked",
        "projections_rebuilt",
        "events_imported",
        "audit_verified",
        "person_forgotten",
        "signing_key_adopted",
    }
)
