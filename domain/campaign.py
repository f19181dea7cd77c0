"""The Campaign aggregate: an event that federates training actions across labs.

A campaign (the national *Mois de l'innovation publique*, say) is registered by an admin
under a slug, for ever, like a lab; labs attach their actions to it by naming its slug
(domain/training.py). The campaign itself does not list them: the read side does.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import DatesOutOfOrderError, InvalidSlugError, InvalidValueError
from domain.lab import SLUG_PATTERN
from domain.meta import Meta
from domain.values import clean_title

CAMPAIGN_NAMESPACE = uuid5(NAMESPACE_URL, "https://tracker.example/campaigns")
THEME_MAX_LENGTH = 500


class Campaign(Aggregate):
    """A campaign, identified by its slug: one slug, one campaign, for ever."""

    class CampaignRegistered(Aggregate.Created):
        slug: str
        name: str
        starts_on: date
        ends_on: date
        theme: str
        organiser: str
        actor: str
        correlation_id: str
        occurred_on: date
        reason: str | None

    def __init__(
        self,
        slug: str,
        name: str,
        starts_on: date,
        ends_on: date,
        theme: str,
        organiser: str,
        actor: str,
        correlation_id: str,
        occurred_on: date,
        reason: str | None,
    ) -> None:
        self.slug = slug
        self.name = name
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.theme = theme
        self.organiser = organiser
        self.registered_on = occurred_on

    @staticmethod
    def id_for(slug: str) -> UUID:
        """The campaign's id is derived from its slug: the store refuses a second one."""
        return uuid5(CAMPAIGN_NAMESPACE, slug)

    @classmethod
    def register(
        cls,
        slug: str,
        name: str,
        starts_on: date,
        ends_on: date,
        theme: str,
        organiser: str,
        meta: Meta,
        reason: str | None = None,
    ) -> Campaign:
        """Register a campaign over a period (both days included)."""
        if not SLUG_PATTERN.fullmatch(slug):
            raise InvalidSlugError(
                f"{slug!r} is not a slug: lowercase letters, digits and inner hyphens, 1-64"
            )
        if ends_on < starts_on:
            raise DatesOutOfOrderError(
                f"a campaign ends ({ends_on.isoformat()}) on or after it starts "
                f"({starts_on.isoformat()})"
            )
        theme = theme.strip()
        if len(theme) > THEME_MAX_LENGTH:
            raise InvalidValueError(f"a theme has at most {THEME_MAX_LENGTH} characters")
        return cls._create(
            cls.CampaignRegistered,
            id=cls.id_for(slug),
            slug=slug,
            name=clean_title(name),
            starts_on=starts_on,
            ends_on=ends_on,
            theme=theme,
            organiser=clean_title(organiser),
            **meta.event_fields(reason),
        )

    def as_dict(self) -> dict[str, Any]:
        """The campaign as plain data (the REST API's view)."""
        return {
            "id": str(self.id),
            "version": self.version,
            "slug": self.slug,
            "name": self.name,
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "theme": self.theme,
            "organiser": self.organiser,
            "registered_on": self.registered_on.isoformat(),
        }
