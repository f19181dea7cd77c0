"""Value objects and the checks on plain values: titles, reasons, dates, territories."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import (
    FutureDateError,
    InvalidTerritoryError,
    InvalidTitleError,
    NegativeValueError,
    ReasonRequiredError,
)
from domain.values import (
    Territory,
    clean_reason,
    clean_title,
    departments_in,
    regions_in,
    require_non_negative,
    require_not_future,
    require_reason,
)

VALID_TERRITORIES = [
    ("region", "27", 2024),  # Bourgogne-Franche-Comté
    ("region", "26", 2015),  # Bourgogne, before the 2016 map
    ("region", "06", 2016),  # Mayotte
    ("department", "21", 2024),
    ("department", "2A", 2024),
    ("department", "2B", 1976),
    ("department", "20", 1975),  # Corsica before its split
    ("department", "971", 2024),
    ("department", "976", 2011),
    ("department", "975", 1980),
    ("epci", "242100410", 2024),  # Dijon Métropole's SIREN
    ("epci", "200054781", 2016),
    ("commune", "21231", 2024),  # Dijon
    ("commune", "2A004", 2024),  # Ajaccio
    ("commune", "20004", 1970),  # Ajaccio's code before 1976
    ("commune", "97105", 2024),  # Basse-Terre
    ("commune", "97611", 2024),  # Mamoudzou
    ("commune", "01001", 1943),
]

INVALID_TERRITORIES = {
    "unknown level": ("canton", "2101", 2024),
    "region of three digits": ("region", "270", 2024),
    "region letters": ("region", "AB", 2024),
    "region gone in 2016": ("region", "26", 2016),
    "region born in 2016": ("region", "27", 2015),
    "region that never was": ("region", "99", 2024),
    "mayotte region before 2011": ("region", "06", 2010),
    "department 00": ("department", "00", 2024),
    "department 20 after the split": ("department", "20", 1976),
    "department 2A before the split": ("department", "2A", 1975),
    "department 96": ("department", "96", 2024),
    "department 977": ("department", "977", 2024),
    "department 975 after 1985": ("department", "975", 1985),
    "department 976 before 2011": ("department", "976", 2010),
    "department lowercase": ("department", "2a", 2024),
    "department one digit": ("department", "1", 2024),
    "epci of eight digits": ("epci", "24210041", 2024),
    "epci not starting with 2": ("epci", "142100410", 2024),
    "epci letters": ("epci", "2421004A0", 2024),
    "commune of four digits": ("commune", "2123", 2024),
    "commune of six digits": ("commune", "212310", 2024),
    "commune 2A before the split": ("commune", "2A004", 1975),
    "commune 20 after the split": ("commune", "20004", 1976),
    "commune in department 00": ("commune", "00123", 2024),
    "commune in department 96": ("commune", "96123", 2024),
    "commune in 977": ("commune", "97701", 2024),
    "code with spaces": ("commune", " 21231", 2024),
    "code with a newline": ("department", "21\n", 2024),
    "cog year too early": ("commune", "21231", 1942),
    "cog year too late": ("commune", "21231", 2101),
}


@pytest.mark.parametrize(("level", "code", "cog_year"), VALID_TERRITORIES)
def test_a_cog_code_of_its_level_and_year_is_accepted(level: str, code: str, cog_year: int) -> None:
    territory = Territory(level, code, cog_year)
    assert (territory.level, territory.code, territory.cog_year) == (level, code, cog_year)


@pytest.mark.parametrize(
    ("level", "code", "cog_year"),
    [pytest.param(*values, id=name) for name, values in INVALID_TERRITORIES.items()],
)
def test_a_malformed_or_out_of_year_cog_code_is_refused(
    level: str, code: str, cog_year: int
) -> None:
    with pytest.raises(InvalidTerritoryError):
        Territory(level, code, cog_year)


@pytest.mark.parametrize("cog_year", ["2024", 2024.0, True])
def test_a_cog_year_must_be_a_whole_year(cog_year: object) -> None:
    with pytest.raises(InvalidTerritoryError):
        Territory("commune", "21231", cog_year)  # type: ignore[arg-type]


@pytest.mark.parametrize("year", [1943, 1975, 1976, 1985, 2011, 2015, 2016, 2100])
def test_every_cog_year_has_96_to_101_departments_and_13_to_27_regions(year: int) -> None:
    assert 96 <= len(departments_in(year)) <= 101
    assert 13 <= len(regions_in(year)) <= 27


@pytest.mark.parametrize(
    ("outer", "inner", "contained"),
    [
        (("department", "21", 2024), ("commune", "21231", 2024), True),
        (("department", "2A", 2024), ("commune", "2A004", 2024), True),
        (("department", "971", 2024), ("commune", "97105", 2024), True),
        (("department", "972", 2024), ("commune", "97105", 2024), False),
        (("department", "21", 2024), ("commune", "71270", 2024), False),
        (("commune", "21231", 2024), ("commune", "21231", 2024), True),
        (("region", "27", 2024), ("department", "21", 2024), False),
    ],
)
def test_a_department_contains_its_communes(
    outer: tuple[str, str, int], inner: tuple[str, str, int], contained: bool
) -> None:
    assert Territory(*outer).contains(Territory(*inner)) is contained


@pytest.mark.parametrize(
    ("title", "cleaned"),
    [("a", "a"), ("  Atelier  ", "Atelier"), ("x" * 200, "x" * 200), ("\tÉté\n", "Été")],
)
def test_a_title_is_trimmed(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize("title", ["", " ", "\n", "x" * 201, "é" * 201])
def test_a_title_outside_1_to_200_characters_is_refused(title: str) -> None:
    with pytest.raises(InvalidTitleError):
        clean_title(title)


@pytest.mark.parametrize("reason", [None, "", "  \t "])
def test_a_required_reason_cannot_be_blank(reason: str | None) -> None:
    with pytest.raises(ReasonRequiredError):
        require_reason(reason, "here")


@pytest.mark.parametrize(("reason", "cleaned"), [(None, None), ("  ", None), (" why ", "why")])
def test_an_optional_reason_is_trimmed_and_blank_means_none(
    reason: str | None, cleaned: str | None
) -> None:
    assert clean_reason(reason) == cleaned


def test_a_negative_value_is_refused() -> None:
    with pytest.raises(NegativeValueError):
        require_non_negative(-0.01, "amount")


def test_a_date_after_today_is_refused() -> None:
    with pytest.raises(FutureDateError):
        require_not_future(date(2026, 1, 2), date(2026, 1, 1), "held_on")


def test_today_is_not_in_the_future() -> None:
    require_not_future(date(2026, 1, 1), date(2026, 1, 1), "held_on")
