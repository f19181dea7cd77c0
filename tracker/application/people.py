"""People's names, kept outside the event log so that they can be erased.

Events name people by pseudonymous ids only. `forget_person` erases the name and e-mail of
one person and records `PersonForgotten` (the id only) in the admin log, in one transaction:
the erasure is a side write of the admin event (tracker/application/rows.py). The log is
untouched, so every hash chain still verifies.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from domain.errors import DomainError, InvalidValueError, NotFoundError
from domain.meta import Meta
from tracker.application.commands import RecordPersonForgotten
from tracker.application.rows import RowWrite
from tracker.application.service import CommandResult, TrackerApplication
from tracker.schema.access import api_tokens
from tracker.schema.audit import PEOPLE_TABLE, people

NAME_MAX_LENGTH = 200


class PersonNotFoundError(NotFoundError):
    """No person has this id."""


class PersonAlreadyForgottenError(DomainError):
    """This person's name was erased already."""


@dataclass(frozen=True)
class Person:
    """A person as tracker knows them: a pseudonymous id, and a name until forgotten."""

    person_id: str
    display_name: str | None
    email: str | None
    created_at: datetime
    forgotten_at: datetime | None


def add_person(engine: Engine, display_name: str, email: str | None = None) -> str:
    """Record a person's name and return the pseudonymous id events may carry."""
    name = display_name.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidValueError(f"a display name needs 1 to {NAME_MAX_LENGTH} characters")
    person_id = f"per_{uuid.uuid4().hex}"
    with engine.begin() as connection:
        connection.execute(
            people.insert().values(
                person_id=person_id,
                display_name=name,
                email=email.strip() if email else None,
                created_at=datetime.now(UTC),
            )
        )
    return person_id


def get_person(engine: Engine, person_id: str) -> Person:
    """One person by id."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(people).where(people.c.person_id == person_id)
        ).one_or_none()
    if row is None:
        raise PersonNotFoundError(f"no person {person_id}")
    return Person(row.person_id, row.display_name, row.email, row.created_at, row.forgotten_at)


def person_for_token(engine: Engine, person: str) -> str:
    """The person a new token is issued to: an existing id (`per_…`), or a new person's name."""
    if person.startswith("per_"):
        found = get_person(engine, person)
        if found.forgotten_at is not None:
            raise PersonAlreadyForgottenError(f"person {person} was forgotten")
        return found.person_id
    return add_person(engine, person)


@dataclass(frozen=True)
class ActorName:
    """Who an actor (a token id) is: the person it was issued to, and their name if kept."""

    person_id: str
    name: str | None

    @property
    def erased(self) -> bool:
        return self.name is None


def actor_names(engine: Engine, actors: Iterable[str | None]) -> dict[str, ActorName]:
    """The people behind these actors (token ids issued to a person; others are absent)."""
    wanted = sorted({actor for actor in actors if actor})
    if not wanted:
        return {}
    query = (
        sa.select(api_tokens.c.token_id, people.c.person_id, people.c.display_name)
        .join(people, people.c.person_id == api_tokens.c.person_id)
        .where(api_tokens.c.token_id.in_(wanted))
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return {row.token_id: ActorName(row.person_id, row.display_name) for row in rows}


def with_actor_names(engine: Engine, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add `actor_name` (None when the actor is no person, or was forgotten) and
    `actor_name_erased` (True once the person was forgotten) to each record with an `actor`.

    The names are read now from tracker_people, never from the log: forgetting a person
    removes their name from every history without touching an event (docs/audit.md).
    """
    names = actor_names(engine, (record.get("actor") for record in records))
    for record in records:
        found = names.get(record.get("actor") or "")
        record["actor_name"] = found.name if found else None
        record["actor_name_erased"] = found.erased if found else False
    return records


# S608: the table name is a constant of the schema, never input.
_ERASE = (
    f"UPDATE {PEOPLE_TABLE} SET display_name = NULL, email = NULL, forgotten_at = %s"  # noqa: S608
    " WHERE person_id = %s"
)


def forget_person(
    application: TrackerApplication,
    engine: Engine,
    person_id: str,
    meta: Meta,
    reason: str | None = None,
) -> CommandResult:
    """Erase a person's name and e-mail, and record `PersonForgotten` with the id only."""
    person = get_person(engine, person_id)
    if person.forgotten_at is not None:
        raise PersonAlreadyForgottenError(f"person {person_id} was forgotten already")
    erase = RowWrite(_ERASE, (datetime.now(UTC), person_id))
    return application.execute(
        RecordPersonForgotten(person_id=person_id, reason=reason, writes=[erase]), meta
    )
