"""People who sign in through an OpenID Connect provider, and the access admins grant them.

A provider names a person by its issuer and a subject (pseudonymous, stable). The first
sign-in records the person's name in tracker_people (the only place it is kept, erasable by
`tracker people forget`) and links (issuer, subject) to that person, with no access yet.
An admin then grants a role and a lab (`tracker people grant`, or the admin page): the grant
is a token row issued to the person whose secret is never shown to anyone. It is recorded in
the admin log as `TokenCreated`, revoked as any token is, and its id is the actor of every
event the person causes from the pages, so histories name them as they name tokens' holders.
A new grant replaces the previous one (which is revoked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from domain.errors import DomainError
from domain.meta import Meta
from tracker.application.access import Principal, Role, create_token, revoke_token
from tracker.application.people import (
    NAME_MAX_LENGTH,
    PersonAlreadyForgottenError,
    add_person,
    get_person,
)
from tracker.application.service import TrackerApplication
from tracker.schema.access import api_tokens
from tracker.schema.audit import people
from tracker.schema.sign_in import sign_in_identities

# The name of a grant's token row, as `tracker token list` shows it (not a secret).
GRANT_TOKEN_NAME = "connexion par fournisseur d'identité"  # noqa: S105


class PersonNeverSignedInError(DomainError):
    """Access is granted to people who signed in once (so that their provider knows them)."""


@dataclass(frozen=True)
class SignedInPerson:
    """Who came back from the provider: their person id, and their access if granted."""

    person_id: str
    principal: Principal | None


@dataclass(frozen=True)
class WaitingPerson:
    """Someone who signed in and still waits for access (the admin page lists them)."""

    person_id: str
    display_name: str | None
    email: str | None
    issuer: str
    first_signed_in_at: datetime


def _name(display_name: str, subject: str) -> str:
    name = " ".join(display_name.split())[:NAME_MAX_LENGTH]
    return name or subject[:NAME_MAX_LENGTH] or "?"


def sign_in(
    engine: Engine, issuer: str, subject: str, display_name: str, email: str | None
) -> SignedInPerson:
    """The person the provider vouched for (recorded at their first sign-in), with their
    principal when access was granted, None until then."""
    now = datetime.now(UTC)
    key = (sign_in_identities.c.issuer == issuer) & (sign_in_identities.c.subject == subject)
    with engine.connect() as connection:
        row = connection.execute(sa.select(sign_in_identities).where(key)).first()
    if row is None:
        person_id = add_person(engine, _name(display_name, subject), email)
        with engine.begin() as connection:
            connection.execute(
                sign_in_identities.insert().values(
                    issuer=issuer,
                    subject=subject,
                    person_id=person_id,
                    grant_token_id=None,
                    created_at=now,
                    last_signed_in_at=now,
                )
            )
        return SignedInPerson(person_id, None)
    with engine.begin() as connection:
        connection.execute(sign_in_identities.update().where(key).values(last_signed_in_at=now))
    return SignedInPerson(row.person_id, principal_for_person(engine, row.person_id))


def principal_for_person(engine: Engine, person_id: str) -> Principal | None:
    """The principal a signed-in person acts as: their live grant, named by their name;
    None when no grant was given, or it was revoked or has expired, or they were forgotten."""
    query = (
        sa.select(api_tokens, people.c.display_name, people.c.forgotten_at)
        .join(sign_in_identities, sign_in_identities.c.grant_token_id == api_tokens.c.token_id)
        .join(people, people.c.person_id == sign_in_identities.c.person_id)
        .where(sign_in_identities.c.person_id == person_id)
        .where(api_tokens.c.revoked_at.is_(None))
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None or row.forgotten_at is not None:
        return None
    expires_at = row.expires_at
    if expires_at is not None:
        expires_at = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if expires_at <= datetime.now(UTC):
            return None
    return Principal(
        token_id=row.token_id, role=Role(row.role), lab=row.lab, name=row.display_name or ""
    )


def grant_access(
    application: TrackerApplication,
    engine: Engine,
    person_id: str,
    role: Role,
    lab: str | None,
    meta: Meta | None = None,
) -> str:
    """Give a person who signed in a role (and, for staff, a lab); return the grant's id.

    Recorded in the admin log as `TokenCreated` (and the previous grant's `TokenRevoked`).
    Raises `TokenRequestError` for a role and lab that do not go together, as tokens do.
    """
    person = get_person(engine, person_id)
    if person.forgotten_at is not None:
        raise PersonAlreadyForgottenError(f"person {person_id} was forgotten")
    with engine.connect() as connection:
        previous = connection.execute(
            sa.select(sign_in_identities.c.grant_token_id).where(
                sign_in_identities.c.person_id == person_id
            )
        ).all()
    if not previous:
        raise PersonNeverSignedInError(
            f"person {person_id} never signed in through an identity provider"
        )
    token_id, _secret = create_token(
        application, role, lab, name=GRANT_TOKEN_NAME, meta=meta, person_id=person_id
    )
    with engine.begin() as connection:
        connection.execute(
            sign_in_identities.update()
            .where(sign_in_identities.c.person_id == person_id)
            .values(grant_token_id=token_id)
        )
    for old in {row.grant_token_id for row in previous if row.grant_token_id}:
        revoke_token(application, engine, old, meta)
    return token_id


def waiting_people(engine: Engine) -> list[WaitingPerson]:
    """People who signed in and have no live grant, first come first."""
    live = sa.select(api_tokens.c.token_id).where(api_tokens.c.revoked_at.is_(None))
    query = (
        sa.select(
            sign_in_identities.c.person_id,
            sign_in_identities.c.issuer,
            sign_in_identities.c.created_at,
            people.c.display_name,
            people.c.email,
        )
        .join(people, people.c.person_id == sign_in_identities.c.person_id)
        .where(people.c.forgotten_at.is_(None))
        .where(
            sign_in_identities.c.grant_token_id.is_(None)
            | sign_in_identities.c.grant_token_id.not_in(live)
        )
        .order_by(sign_in_identities.c.created_at)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        WaitingPerson(
            person_id=row.person_id,
            display_name=row.display_name,
            email=row.email,
            issuer=row.issuer,
            first_signed_in_at=row.created_at,
        )
        for row in rows
    ]
