"""Tables of the API's edge: bearer tokens and idempotency records.

Both live beside the event store in the same database (Alembic revision
`0002_tokens_idempotency` creates them) but outside the event log: a token or an
idempotency record is operational state, not a fact of the domain.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.schema.metadata import metadata

# A token's secret is never stored: only the SHA-256 of the whole bearer token (64 hex digits).
API_TOKENS_TABLE = "api_tokens"
api_tokens = sa.Table(
    API_TOKENS_TABLE,
    metadata,
    sa.Column("token_id", sa.String(64), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("lab", sa.String(64), nullable=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    # None: the token lives until revoked (revision 0006_token_expiry added the column).
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    # The person (tracker_people) the token was issued to, if any (revision 0008).
    sa.Column("person_id", sa.String(64), nullable=True),
)

# One row per (token, Idempotency-Key). `state` is `pending` while the first request runs
# (the reservation, owned by `owner`) and `completed` once its events committed: the
# completion is written by a side write in the events' own transaction.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("token_id", sa.String(64), primary_key=True),
    sa.Column("idempotency_key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("response_headers", sa.Text, nullable=True),
    sa.Column("position", sa.BigInteger, nullable=True),
    sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
)
