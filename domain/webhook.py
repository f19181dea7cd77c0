"""The WebhookSubscription aggregate: a target that receives the log's events, signed.

Its events record what was subscribed (the URL, the event types, the labs), and when it
was paused, resumed or deleted; never its secret, which lives in a table beside the log
(`tracker/schema/webhooks.py`) so that it can be rotated or erased (docs/webhooks.md).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValueError, WebhookSubscriptionStateError
from domain.lab import Lab
from domain.meta import Meta
from domain.project import Project

MAX_URL_LENGTH = 2000


class WebhookSubscription(Aggregate):
    """A webhook subscription: active, paused, or deleted (for ever)."""

    class Event(Aggregate.Event):
        """Every subscription event records who, in which request, when, and why."""

        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

    class WebhookSubscribed(Aggregate.Created):
        url: str
        event_types: list[str]
        labs: list[str]
        owner_lab: str | None
        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

    def __init__(
        self,
        url: str,
        event_types: list[str],
        labs: list[str],
        owner_lab: str | None,
        actor: str,
        correlation_id: str,
        occurred_on: date,
        reason: str | None,
    ) -> None:
        self.url = url
        self.event_types = list(event_types)
        self.labs = list(labs)
        self.owner_lab = owner_lab
        self.paused = False
        self.deleted = False
        self.pause_reason: str | None = None

    @classmethod
    def subscribe(
        cls,
        subscription_id: UUID,
        url: str,
        event_types: list[str],
        labs: list[str],
        owner_lab: str | None,
        meta: Meta,
        reason: str | None = None,
    ) -> WebhookSubscription:
        """Subscribe `url` to `event_types` of `labs` (every lab when empty)."""
        if not url.startswith(("https://", "http://")) or len(url) > MAX_URL_LENGTH:
            raise InvalidValueError("a webhook URL is an http(s) URL of at most 2000 characters")
        if not event_types:
            raise InvalidValueError("a webhook subscribes to one event type at least")
        require_event_types(event_types)
        return cls._create(
            cls.WebhookSubscribed,
            id=subscription_id,
            url=url,
            event_types=sorted(set(event_types)),
            labs=sorted(set(labs)),
            owner_lab=owner_lab,
            **meta.event_fields(reason),
        )

    def _require_not_deleted(self) -> None:
        if self.deleted:
            raise WebhookSubscriptionStateError("this webhook subscription is deleted")

    class WebhookPaused(Event):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, WebhookSubscription)
            aggregate.paused = True
            aggregate.pause_reason = self.reason

    def pause(self, meta: Meta, reason: str | None = None) -> None:
        """Stop deliveries (by hand, or by the deliverer after repeated failures)."""
        self._require_not_deleted()
        if self.paused:
            raise WebhookSubscriptionStateError("this webhook subscription is paused already")
        self.trigger_event(self.WebhookPaused, **meta.event_fields(reason))

    class WebhookResumed(Event):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, WebhookSubscription)
            aggregate.paused = False
            aggregate.pause_reason = None

    def resume(self, meta: Meta, reason: str | None = None) -> None:
        """Deliver again, from where deliveries stopped."""
        self._require_not_deleted()
        if not self.paused:
            raise WebhookSubscriptionStateError("this webhook subscription is not paused")
        self.trigger_event(self.WebhookResumed, **meta.event_fields(reason))

    class WebhookDeleted(Event):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, WebhookSubscription)
            aggregate.deleted = True

    def delete(self, meta: Meta, reason: str | None = None) -> None:
        """Delete the subscription for ever (its secret is erased with this event)."""
        self._require_not_deleted()
        self.trigger_event(self.WebhookDeleted, **meta.event_fields(reason))

    @property
    def active(self) -> bool:
        """True when the deliverer sends it events."""
        return not (self.paused or self.deleted)


# -- what a subscription may receive ---------------------------------------------------------

DELIVERED_AGGREGATES: dict[type[Aggregate], str] = {Project: "lab", Lab: "slug"}
"""The aggregates whose events webhooks deliver, with the attribute naming their lab.

Adding an aggregate (the training programme's) is one entry here. The admin log's and the
subscriptions' own events are never delivered: they name tokens and targets.
"""

_NOT_EVENT_TYPES = frozenset({"Event", "Created", "Snapshot"})


def deliverable_event_types() -> dict[str, str]:
    """Every event type a subscription may name (the class name) and its stored topic."""
    types: dict[str, str] = {}
    for aggregate in DELIVERED_AGGREGATES:
        for name, value in vars(aggregate).items():
            if (
                isinstance(value, type)
                and issubclass(value, Aggregate.Event)
                and name not in _NOT_EVENT_TYPES
            ):
                types[name] = f"{value.__module__}:{value.__qualname__}"
    return types


def require_event_types(event_types: list[str]) -> None:
    """Refuse an event type that no delivered aggregate has (naming the known ones)."""
    known = deliverable_event_types()
    unknown = sorted(set(event_types) - set(known))
    if unknown:
        raise InvalidValueError(
            f"unknown event types {', '.join(unknown)}: the known ones are {', '.join(known)}"
        )
