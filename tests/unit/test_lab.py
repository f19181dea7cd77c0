"""The Lab aggregate: one slug, one lab; an INSEE region of today's map."""

from __future__ import annotations

import pytest

from domain.errors import InvalidSlugError, InvalidTerritoryError, InvalidTitleError
from domain.lab import Lab
from tests.factories import meta

VALID_SLUGS = ["a", "9", "lab-bfc", "la-27e-region", "a" * 64, "x-1-y"]
INVALID_SLUGS = ["", "-lab", "lab-", "Lab", "lab_bfc", "lab bfc", "a" * 65, "lab\n", "labé"]


def register(slug: str = "lab-bfc", name: str = "Laboratoire", region_code: str = "27") -> Lab:
    return Lab.register(slug=slug, name=name, region_code=region_code, meta=meta())


@pytest.mark.parametrize("slug", VALID_SLUGS)
def test_a_lab_registers_under_a_valid_slug(slug: str) -> None:
    lab = register(slug=slug)
    assert (lab.slug, lab.id) == (slug, Lab.id_for(slug))


@pytest.mark.parametrize("slug", INVALID_SLUGS)
def test_an_invalid_slug_is_refused(slug: str) -> None:
    with pytest.raises(InvalidSlugError):
        register(slug=slug)


@pytest.mark.parametrize("region_code", ["11", "27", "94", "06"])
def test_a_lab_registers_in_a_current_region(region_code: str) -> None:
    assert register(region_code=region_code).region_code == region_code


@pytest.mark.parametrize("region_code", ["", "7", "270", "2A", "26", "99", "00"])
def test_a_region_code_not_on_todays_map_is_refused(region_code: str) -> None:
    with pytest.raises(InvalidTerritoryError):
        register(region_code=region_code)


@pytest.mark.parametrize("name", ["", "   ", "n" * 201])
def test_a_lab_name_outside_1_to_200_characters_is_refused(name: str) -> None:
    with pytest.raises(InvalidTitleError):
        register(name=name)


def test_the_lab_id_is_derived_from_the_slug_alone() -> None:
    assert Lab.id_for("lab-bfc") == Lab.id_for("lab-bfc") != Lab.id_for("lab-bfd")


def test_the_registered_event_carries_the_metadata() -> None:
    command_meta = meta()
    lab = Lab.register("lab-bfc", "  Laboratoire  ", "27", command_meta)
    (event,) = lab.collect_events()
    assert isinstance(event, Lab.LabRegistered)
    assert (event.name, event.actor, event.correlation_id, event.occurred_on) == (
        "Laboratoire",
        command_meta.actor,
        command_meta.correlation_id,
        command_meta.occurred_on,
    )
