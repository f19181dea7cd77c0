"""Webhook subscriptions' secrets and delivery state, beside the event log.

A subscription's facts (its URL, event types, labs, pauses) are events of the
`WebhookSubscription` aggregate; its secret is not (it must be rotatable and erasable), and
neither is the deliverer's progress (operational state, like a projection's tracking row).
Both live in `webhook_subscriptions`: the row is written with the subscription's own
events (side writes, tracker/application/rows.py), and moved by the deliverer
(tracker/webhooks/deliverer.py). Alembic revision `0011_webhooks` creates it.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.schema.metadata import metadata

WEBHOOK_SUBSCRIPTIONS_TABLE = "webhook_subscriptions"
webhook_subscriptions = sa.Table(
    WEBHOOK_SUBSCRIPTIONS_TABLE,
    metadata,
    sa.Column("subscription_id", sa.String(36), primary_key=True),
    # `whsec_…` (Standard Webhooks); NULL once the subscription is deleted.
    sa.Column("secret", sa.String(100), nullable=True),
    # The last log position delivered (or skipped as not subscribed): deliveries resume after it.
    sa.Column("position", sa.BigInteger, nullable=False),
    # Failed attempts in a row on the event after `position` (0 after a success or a resume).
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("delivered", sa.BigInteger, nullable=False),
    sa.Column("last_delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
