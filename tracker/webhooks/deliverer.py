"""The webhook deliverer: follows the log once per subscription, like a projection.

Each subscription has its own position in `webhook_subscriptions` (the last event
delivered, or skipped as not subscribed). A turn, for one subscription:

1. takes the subscription's lease, without waiting: a PostgreSQL session advisory lock on a
   connection held for the turn, or an exclusive `flock` on a file beside the SQLite
   database; the kernel or the server releases either when a killed process goes, so one
   deliverer at a time sends a subscription's events, whichever process it runs in;
2. reads the events after the position, and sends each one the subscription wants, in log
   order, signed as the Standard Webhooks specification says (`standardwebhooks`);
3. moves the position past an event only once its receiver answered 2xx (a short
   transaction, conditional on the position read): killed anywhere, a deliverer has at
   worst sent an event whose position did not move, and it is sent again, with the same
   `webhook-id` (`msg_<subscription>_<position>`), for the receiver to deduplicate.

A failure (a refused target, a timeout, a non-2xx answer) stops the turn: the same event is
tried again after an exponential delay with jitter, and after `webhook_max_attempts`
failures in a row the deliverer pauses the subscription through the `PauseWebhook` command
(an event, with the last error as its reason). Nothing here runs in a command's
transaction: commands never wait for a receiver (docs/webhooks.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import random
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from sqlalchemy.engine import make_url
from standardwebhooks.webhooks import Webhook

from domain.errors import WebhookSubscriptionStateError
from domain.webhook import DELIVERED_AGGREGATES, WebhookSubscription, deliverable_event_types
from tracker.application.commands import PauseWebhook
from tracker.application.services import Services
from tracker.audit.history import plain
from tracker.schema.event_store import EVENTS_TABLE
from tracker.schema.webhooks import webhook_subscriptions
from tracker.webhooks.targets import TargetRefusedError, check_target

log = structlog.get_logger("tracker.webhooks")

DELIVERER_ACTOR = "system:webhooks"
ERROR_MAX_CHARS = 500
# Fields of an event that a webhook never carries: token ids (docs/webhooks.md).
WITHHELD_FIELDS = frozenset({"actor", "correlation_id", "originator_id", "originator_version"})
WITHHELD_FIELDS |= {"timestamp"}
LAB_CACHE_SIZE = 50_000


def now_utc() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite gives back naive datetimes: tracker writes them in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def message_id(subscription_id: UUID, position: int) -> str:
    """The `webhook-id` of an event for a subscription: the same on every redelivery."""
    return f"msg_{subscription_id.hex}_{position}"


def retry_delay(attempts: int, base: float, ceiling: float) -> float:
    """Seconds before the next attempt after `attempts` failures: doubling, jittered.

    The delay doubles from `base` up to `ceiling`, and is drawn between its half and its
    whole ("equal jitter"), so that receivers coming back are not hit by every retry at once.
    """
    delay = min(ceiling, base * 2 ** max(attempts - 1, 0))
    return random.uniform(delay / 2, delay)


# -- the lease -------------------------------------------------------------------------------


def _advisory_key(subscription_id: str) -> int:
    digest = hashlib.sha256(f"tracker.webhook:{subscription_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lease_file(services: Services, subscription_id: str) -> Path:
    database = make_url(services.settings.database_url).database or "tracker.db"
    return Path(f"{database}.webhook-{subscription_id}.lock")


@contextlib.contextmanager
def lease(services: Services, subscription_id: str) -> Iterator[bool]:
    """Yield True while this process is the subscription's one deliverer, False if another is."""
    if services.settings.is_sqlite:
        with lease_file(services, subscription_id).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    key = {"key": _advisory_key(subscription_id)}
    with services.engine.connect() as connection:
        held = bool(connection.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), key))
        connection.commit()  # a session lock: it outlives this transaction, not the connection
        try:
            yield held
        finally:
            if held:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), key)
                connection.commit()


# -- what is sent ----------------------------------------------------------------------------


def payload(event: Any, notification: Notification, lab: str | None) -> dict[str, Any]:
    """The JSON body of one event's webhook (Standard Webhooks: type, timestamp, data)."""
    fields = vars(event)
    return {
        "type": type(event).__name__,
        "timestamp": event.timestamp.isoformat(),
        "data": {
            "position": notification.id,
            "aggregate_id": str(event.originator_id),
            "version": event.originator_version,
            "lab": lab,
            "fields": {k: plain(v) for k, v in fields.items() if k not in WITHHELD_FIELDS},
        },
    }


def signed_request(secret: str, msg_id: str, body: str, sent_at: datetime) -> dict[str, str]:
    """The headers of a signed delivery (`webhook-id`, `webhook-timestamp`, `webhook-signature`)."""
    return {
        "content-type": "application/json",
        "user-agent": "tracker-webhooks",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent_at, body),
    }


class DeliveryFailedError(Exception):
    """The receiver did not accept a delivery; the message is the error shown to operators."""


# -- the deliverer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """What one subscription's turn did."""

    delivered: int = 0
    moved: bool = False
    failed: bool = False


class Deliverer:
    """Every subscription's deliveries, in one thread; `stop()` ends between deliveries."""

    def __init__(self, services: Services, client: httpx.Client | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.client = client or httpx.Client(
            timeout=self.settings.webhook_timeout_seconds, follow_redirects=False
        )
        self.topics = deliverable_event_types()
        self._labs: dict[UUID, str | None] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracker-webhooks", daemon=True)
        self.error: BaseException | None = None

    # -- running -----------------------------------------------------------------------------

    def start(self) -> Deliverer:
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the loop to stop after the current delivery (safe from a signal handler)."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop after the current delivery, and wait for the thread to end."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self.client.close()

    def run_forever(self) -> None:
        """Run in the calling thread until `stop()` (from another thread or a signal)."""
        self._run()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                busy = self.run_once()
                failures = 0
            except Exception as error:  # the database went away, a bug…
                failures += 1
                self.error = error
                log.exception("webhooks_failed", attempt=failures)
                self._stopping.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            if not busy:
                self._stopping.wait(self.settings.webhook_poll_seconds)

    def run_once(self) -> bool:
        """One turn for every subscription; True when one delivered or moved."""
        with self.services.read_engine.connect() as connection:
            ids = list(
                connection.scalars(
                    sa.select(webhook_subscriptions.c.subscription_id)
                    .where(webhook_subscriptions.c.secret.is_not(None))
                    .order_by(webhook_subscriptions.c.created_at)
                )
            )
        busy = False
        for subscription_id in ids:
            if self._stopping.is_set():
                break
            with lease(self.services, subscription_id) as held:
                if held:
                    turn = self.run_turn(UUID(subscription_id))
                    busy = busy or turn.moved
        return busy

    # -- one subscription --------------------------------------------------------------------

    def run_turn(self, subscription_id: UUID) -> Turn:
        """Deliver the next batch of one subscription's events (the caller holds its lease)."""
        with self.services.read_engine.connect() as connection:
            row = connection.execute(
                sa.select(webhook_subscriptions).where(
                    webhook_subscriptions.c.subscription_id == str(subscription_id)
                )
            ).one_or_none()
        if row is None or row.secret is None:
            return Turn()
        next_attempt = _aware(row.next_attempt_at)
        if next_attempt is not None and next_attempt > now_utc():
            return Turn()
        subscription: Aggregate = self.services.application.repository.get(subscription_id)
        assert isinstance(subscription, WebhookSubscription)
        if not subscription.active:
            return Turn()
        wanted = {self.topics[t] for t in subscription.event_types if t in self.topics}
        application = self.services.application
        notifications = application.recorder.select_notifications(
            start=int(row.position),
            limit=self.settings.webhook_batch_size,
            inclusive_of_start=False,
        )
        after = position = int(row.position)
        delivered = 0
        for notification in notifications:
            if self._stopping.is_set():
                break
            if notification.topic in wanted:
                lab = self._lab_of(UUID(str(notification.originator_id)))
                if not subscription.labs or lab in subscription.labs:
                    try:
                        self._deliver(subscription, row.secret, notification, lab)
                    except DeliveryFailedError as error:
                        # Past the events it skipped, and no further: this one comes next.
                        self._move(subscription_id, after, position, 0)
                        attempts_before = int(row.attempts) if delivered == 0 else 0
                        self._failed(subscription_id, attempts_before, str(error))
                        return Turn(delivered, moved=False, failed=True)
                    # Moved at once: after a crash, this event at most is sent again.
                    self._move(subscription_id, after, notification.id, 1)
                    after = notification.id
                    delivered += 1
            position = notification.id
        self._move(subscription_id, after, position, 0)
        return Turn(delivered, moved=bool(notifications))

    def _lab_of(self, aggregate_id: UUID) -> str | None:
        # A project never changes lab, and a lab's slug is for ever: remembered once read.
        if aggregate_id in self._labs:
            return self._labs[aggregate_id]
        try:
            aggregate: Aggregate = self.services.application.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        attribute = DELIVERED_AGGREGATES.get(type(aggregate))
        lab = getattr(aggregate, attribute, None) if attribute else None
        if len(self._labs) >= LAB_CACHE_SIZE:
            del self._labs[next(iter(self._labs))]
        self._labs[aggregate_id] = lab
        return lab

    def _deliver(
        self,
        subscription: WebhookSubscription,
        secret: str,
        notification: Notification,
        lab: str | None,
    ) -> None:
        event = self.services.application.mapper.to_domain_event(notification)
        body = json.dumps(payload(event, notification, lab), separators=(",", ":"))
        msg_id = message_id(subscription.id, notification.id)
        try:
            check_target(subscription.url, self.settings.webhook_allowed_hosts)
            answer = self.client.post(
                subscription.url,
                content=body.encode(),
                headers=signed_request(secret, msg_id, body, now_utc()),
            )
        except TargetRefusedError as error:
            raise DeliveryFailedError(f"cible refusée : {error}") from None
        except httpx.HTTPError as error:
            raise DeliveryFailedError(
                f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS]
            ) from None
        if not answer.is_success:
            raise DeliveryFailedError(f"HTTP {answer.status_code}: {answer.text[:200]}")
        log.info(
            "webhook_delivered",
            subscription_id=str(subscription.id),
            position=notification.id,
            webhook_id=msg_id,
            status=answer.status_code,
        )

    def _move(self, subscription_id: UUID, after: int, position: int, delivered: int) -> None:
        if position == after and delivered == 0:
            return
        values: dict[str, Any] = {"position": position, "attempts": 0, "next_attempt_at": None}
        if delivered:
            values |= {
                "delivered": webhook_subscriptions.c.delivered + delivered,
                "last_delivered_at": now_utc(),
            }
        with self.services.engine.begin() as connection:
            connection.execute(
                sa.update(webhook_subscriptions)
                .where(
                    webhook_subscriptions.c.subscription_id == str(subscription_id),
                    webhook_subscriptions.c.position == after,
                )
                .values(**values)
            )

    def _failed(self, subscription_id: UUID, attempts_before: int, error: str) -> None:
        attempts = attempts_before + 1
        delay = retry_delay(
            attempts,
            self.settings.webhook_retry_base_seconds,
            self.settings.webhook_retry_max_seconds,
        )
        with self.services.engine.begin() as connection:
            connection.execute(
                sa.update(webhook_subscriptions)
                .where(webhook_subscriptions.c.subscription_id == str(subscription_id))
                .values(
                    attempts=attempts,
                    next_attempt_at=now_utc() + timedelta(seconds=delay),
                    last_error=error[:ERROR_MAX_CHARS],
                    last_error_at=now_utc(),
                )
            )
        log.warning(
            "webhook_failed",
            subscription_id=str(subscription_id),
            attempts=attempts,
            retry_in_seconds=round(delay, 2),
            error=error,
        )
        if attempts >= self.settings.webhook_max_attempts:
            self._pause(subscription_id, attempts, error)

    def _pause(self, subscription_id: UUID, attempts: int, error: str) -> None:
        application = self.services.application
        meta = application.meta(DELIVERER_ACTOR, f"webhooks-{uuid.uuid4()}")
        reason = f"{attempts} échecs de suite ; dernière erreur : {error}"[:ERROR_MAX_CHARS]
        with contextlib.suppress(WebhookSubscriptionStateError):
            application.execute(PauseWebhook(subscription_id=subscription_id, reason=reason), meta)
        log.warning("webhook_paused", subscription_id=str(subscription_id), attempts=attempts)


def start_background_deliverer(services: Services) -> Deliverer:
    """Start the webhook deliverer in a daemon thread of this process (`tracker serve`)."""
    deliverer = Deliverer(services).start()
    log.info("webhooks_started")
    return deliverer


# -- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookStatus:
    """A subscription as operators see it: what it sends, and how far it is."""

    id: UUID
    url: str
    event_types: list[str]
    labs: list[str]
    owner_lab: str | None
    state: str
    pause_reason: str | None
    position: int
    head: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    delivered: int
    last_delivered_at: datetime | None

    @property
    def lag_events(self) -> int:
        """Events of the log after this subscription's position (sent or not)."""
        return max(self.head - self.position, 0)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the API's answer)."""
        return {
            "id": str(self.id),
            "url": self.url,
            "event_types": self.event_types,
            "labs": self.labs,
            "owner_lab": self.owner_lab,
            "state": self.state,
            "pause_reason": self.pause_reason,
            "position": self.position,
            "lag_events": self.lag_events,
            "attempts": self.attempts,
            "next_attempt_at": plain(self.next_attempt_at),
            "last_error": self.last_error,
            "last_error_at": plain(self.last_error_at),
            "delivered": self.delivered,
            "last_delivered_at": plain(self.last_delivered_at),
        }


def webhook_status(
    services: Services, ids: Sequence[UUID] | None = None, include_deleted: bool = False
) -> list[WebhookStatus]:
    """Every subscription's state, position and last error (or those of `ids`)."""
    column = "rowid" if services.settings.is_sqlite else "notification_id"
    query = sa.select(webhook_subscriptions).order_by(webhook_subscriptions.c.created_at)
    if ids is not None:
        query = query.where(webhook_subscriptions.c.subscription_id.in_([str(i) for i in ids]))
    with services.read_engine.connect() as connection:
        head = int(
            connection.scalar(sa.text(f"SELECT max({column}) FROM {EVENTS_TABLE}"))  # noqa: S608
            or 0
        )
        rows = list(connection.execute(query))
    statuses: list[WebhookStatus] = []
    for row in rows:
        subscription: Aggregate = services.application.repository.get(UUID(row.subscription_id))
        assert isinstance(subscription, WebhookSubscription)
        if subscription.deleted and not include_deleted:
            continue
        state = "deleted" if subscription.deleted else "paused" if subscription.paused else "active"
        statuses.append(
            WebhookStatus(
                id=subscription.id,
                url=subscription.url,
                event_types=subscription.event_types,
                labs=subscription.labs,
                owner_lab=subscription.owner_lab,
                state=state,
                pause_reason=subscription.pause_reason,
                position=int(row.position),
                head=head,
                attempts=int(row.attempts),
                next_attempt_at=_aware(row.next_attempt_at),
                last_error=row.last_error,
                last_error_at=_aware(row.last_error_at),
                delivered=int(row.delivered),
                last_delivered_at=_aware(row.last_delivered_at),
            )
        )
    return statuses
