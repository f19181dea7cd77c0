"""Territory names for their COG year, from the versioned extract `projections/cog_names.csv`.

The extract (provenance and how to update it: docs/territories.md) holds every region and
department since 1943 with their renamings, and the communes and EPCI the demo seed uses;
a territory outside it has no name (None), never a wrong one. A row holds from
`first_cog_year` to `last_cog_year` included (empty: unbounded), so the 2016 regions have
their provisional names in the COG 2016 and their final ones from 2017.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

EXTRACT = "cog_names.csv"


@dataclass(frozen=True)
class _Name:
    name: str
    first_year: int | None
    last_year: int | None

    def holds_in(self, cog_year: int) -> bool:
        return (self.first_year is None or self.first_year <= cog_year) and (
            self.last_year is None or cog_year <= self.last_year
        )


@cache
def _names() -> dict[tuple[str, str], tuple[_Name, ...]]:
    names: dict[tuple[str, str], list[_Name]] = {}
    with resources.files(__package__).joinpath(EXTRACT).open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            names.setdefault((row["level"], row["code"]), []).append(
                _Name(
                    row["name"],
                    int(row["first_cog_year"]) if row["first_cog_year"] else None,
                    int(row["last_cog_year"]) if row["last_cog_year"] else None,
                )
            )
    return {key: tuple(value) for key, value in names.items()}


def territory_name(level: str, code: str, cog_year: int) -> str | None:
    """The territory's name in the COG of `cog_year`, or None when the extract lacks it."""
    for name in _names().get((level, code), ()):
        if name.holds_in(cog_year):
            return name.name
    return None
