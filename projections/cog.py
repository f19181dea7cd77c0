"""Territory names for their COG year, from two versioned extracts shipped with the code.

`cog_names.csv` holds every region and department since 1943 with their renamings;
`cog_communes.csv` every commune (and municipal district) and EPCI of the COG years of
Etalab's yearly packages, built by `projections/cog_build.py` (provenance and how to
update them: docs/territories.md). A territory outside them has no name (None), never a
wrong one. A row holds from
`first_cog_year` to `last_cog_year` included (empty: unbounded), so the 2016 regions have
their provisional names in the COG 2016 and their final ones from 2017.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

EXTRACTS = ("cog_names.csv", "cog_communes.csv")


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
    for extract in EXTRACTS:
        with resources.files(__package__).joinpath(extract).open(encoding="utf-8") as file:
            rows = csv.reader(file)
            next(rows)  # level, code, name, first_cog_year, last_cog_year
            for level, code, name, first, last in rows:
                named = _Name(name, int(first) if first else None, int(last) if last else None)
                names.setdefault((level, code), []).append(named)
    return {key: tuple(value) for key, value in names.items()}


def territory_name(level: str, code: str, cog_year: int) -> str | None:
    """The territory's name in the COG of `cog_year`, or None when the extract lacks it."""
    for name in _names().get((level, code), ()):
        if name.holds_in(cog_year):
            return name.name
    return None


def newest_name(level: str, code: str) -> str | None:
    """The territory's name in the newest COG year that names it (for roll-ups that group a
    code across COG years), or None when the extracts lack it."""
    names = _names().get((level, code), ())
    if not names:
        return None
    return max(names, key=lambda n: n.last_year if n.last_year is not None else 10_000).name
