"""The Lab aggregate: a public innovation lab that runs a portfolio of projects."""

from __future__ import annotations

import re
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidSlugError, InvalidTerritoryError, LabPublicationUnchangedError
from domain.meta import Meta
from domain.values import REGIONS_SINCE_2016, clean_title

SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
LAB_NAMESPACE = uuid5(NAMESPACE_URL, "https://tracker.example/labs")


class Lab(Aggregate):
    """A lab, identified by its slug: one slug, one lab, for ever."""

    class LabRegistered(Aggregate.Created):
        slug: str
        name: str
        region_code: str
        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

    def __init__(
        self,
        slug: str,
        name: str,
        region_code: str,
        actor: str,
        correlation_id: str,
        occurred_on: date,
        reason: str | None,
    ) -> None:
        self.slug = slug
        self.name = name
        self.region_code = region_code
        self.registered_on = occurred_on
        self.published = False

    @staticmethod
    def id_for(slug: str) -> UUID:
        """The lab's id is derived from its slug, so the store refuses a second lab per slug."""
        return uuid5(LAB_NAMESPACE, slug)

    @classmethod
    def register(cls, slug: str, name: str, region_code: str, meta: Meta) -> Lab:
        """Register a lab under a new slug."""
        if not SLUG_PATTERN.fullmatch(slug):
            raise InvalidSlugError(
                f"{slug!r} is not a slug: lowercase letters, digits and inner hyphens, 1-64"
            )
        # A lab registers today, so its region is one of today's (the 2016 map).
        if region_code not in REGIONS_SINCE_2016:
            raise InvalidTerritoryError(f"{region_code!r} is not an INSEE region code")
        return cls._create(
            cls.LabRegistered,
            id=cls.id_for(slug),
            slug=slug,
            name=clean_title(name),
            region_code=region_code,
            **meta.event_fields(),
        )

    class LabPublicationChanged(Aggregate.Event):
        """The lab chose to publish its portfolio as open data, or to stop (docs/open-data.md)."""

        published: bool
        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Lab)
            aggregate.published = self.published

    def change_publication(self, published: bool, meta: Meta, reason: str | None = None) -> None:
        """Publish the lab's portfolio as open data (or stop); a no-op change is refused."""
        if published == self.published:
            state = "published already" if published else "not published"
            raise LabPublicationUnchangedError(f"lab {self.slug!r} is {state}")
        self.trigger_event(
            self.LabPublicationChanged, published=published, **meta.event_fields(reason)
        )
