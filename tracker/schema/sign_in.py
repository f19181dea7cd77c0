"""People signed in through an OpenID Connect provider: `tracker_sign_in_identities`.

One row per (issuer, subject): the provider's pseudonymous name for a person, the person
(tracker_people, the only place their name is kept) and the grant they sign in with, once
an admin gave one (`tracker people grant`): a token row (api_tokens) whose secret nobody
was ever shown, so that events they cause carry its id as their actor, as tokens' do.
Revision `0014_sign_in_identities` creates the table.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.schema.metadata import metadata

SIGN_IN_IDENTITIES_TABLE = "tracker_sign_in_identities"
sign_in_identities = sa.Table(
    SIGN_IN_IDENTITIES_TABLE,
    metadata,
    sa.Column("issuer", sa.String(500), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("person_id", sa.String(64), nullable=False),
    # None until an admin grants a role (and a lab): "access not yet granted".
    sa.Column("grant_token_id", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_signed_in_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_tracker_sign_in_identities_person_id", "person_id"),
)
