"""Territory names for their COG year, from the shipped extract (projections/cog_names.csv)."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from domain.values import departments_in, regions_in
from projections.cog import territory_name
from tracker.application.seed import LABS


@pytest.mark.parametrize(
    ("level", "code", "cog_year", "name"),
    [
        ("region", "44", 2016, "Alsace-Champagne-Ardenne-Lorraine"),
        ("region", "44", 2017, "Grand Est"),
        ("region", "43", 2015, "Franche-Comté"),
        ("region", "43", 2016, None),
        ("department", "22", 1989, "Côtes-du-Nord"),
        ("department", "22", 1990, "Côtes-d'Armor"),
        ("department", "2A", 2024, "Corse-du-Sud"),
        ("commune", "71073", 2024, "Chagny"),
        ("commune", "58062", 2024, "Château-Chinon (Ville)"),
        ("commune", "75056", 2024, "Paris"),
        ("commune", "75104", 2024, "Paris 4e Arrondissement"),
        ("commune", "01138", 2022, "Culoz"),  # merged with Béon into Culoz-Béon in 2023
        ("commune", "01138", 2023, "Culoz-Béon"),
        ("commune", "21231", 2020, "Dijon"),  # no 2020 package: 2019 and 2021 agree
        ("commune", "21231", 2018, None),  # before the first package: not guessed
        ("commune", "21231", 2027, None),  # a COG not yet in the extract
        ("commune", "58999", 2024, None),  # no such commune
        ("epci", "200065647", 2024, "CA Pays de Montbéliard Agglomération"),
        ("epci", "200067213", 2024, "CU du Grand Reims"),
    ],
)
def test_a_territory_is_named_for_its_cog_year(
    level: str, code: str, cog_year: int, name: str | None
) -> None:
    assert territory_name(level, code, cog_year) == name


@pytest.mark.parametrize("cog_year", [1950, 1980, 2015, 2016, 2024])
def test_every_region_and_department_of_a_cog_year_has_a_name(cog_year: int) -> None:
    unnamed = [c for c in regions_in(cog_year) if territory_name("region", c, cog_year) is None]
    unnamed += [
        c for c in departments_in(cog_year) if territory_name("department", c, cog_year) is None
    ]
    # Before 1968, Paris's suburbs were Seine and Seine-et-Oise: 91-95 did not exist yet
    # (the domain accepts their codes for any year; the extract does not invent names).
    assert [
        c for c in unnamed if not (cog_year < 1968 and c in {"91", "92", "93", "94", "95"})
    ] == []


def test_every_place_the_demo_seed_uses_has_the_seeds_name() -> None:
    for lab in LABS:
        for place in lab.communes:
            assert territory_name("commune", place.code, 2024) == place.name
        for code, name in lab.departments.items():
            assert territory_name("department", code, 2024) == name
        assert territory_name("region", lab.region_code, 2024) == lab.region_name


def test_the_extract_has_no_overlapping_years() -> None:
    with resources.files("projections").joinpath("cog_names.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for year in range(1943, 2030):
        keys = [
            (r["level"], r["code"])
            for r in rows
            if int(r["first_cog_year"] or 0) <= year <= int(r["last_cog_year"] or 9999)
        ]
        assert len(keys) == len(set(keys)), year
