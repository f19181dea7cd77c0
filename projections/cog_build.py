"""Build `projections/cog_communes.csv`, the communes' and EPCI's names for each COG year,
from the yearly packages of Etalab's *découpage administratif* (docs/territories.md).

    python -m projections.cog_build 2019=DIR 2021=DIR ... 2026=DIR

Each DIR is an unpacked `@etalab/decoupage-administratif` package of that COG year (its
`data/communes.json` and `data/epci.json`). A name holds over the consecutive years it is
the same; a year without a package (2020) takes the name its neighbours agree on, else
none: a name is never guessed. Only current communes and Paris, Lyon and Marseille's
municipal districts are kept (a delegated or associated commune may share its code with
the commune it belongs to).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("cog_communes.csv")
COMMUNE_TYPES = {"commune-actuelle", "arrondissement-municipal"}
Key = tuple[str, str]


def _names_of(package: Path) -> dict[Key, str]:
    """Every commune's and EPCI's name in one year's package."""
    names: dict[Key, str] = {}
    data = package / "data"
    for commune in json.loads((data / "communes.json").read_text(encoding="utf-8")):
        if commune["type"] in COMMUNE_TYPES:
            names[("commune", commune["code"])] = commune["nom"]
    epci_file = data / "epci.json"
    if epci_file.exists():
        for epci in json.loads(epci_file.read_text(encoding="utf-8")):
            names[("epci", epci["code"])] = epci["nom"]
    return names


def _fill_gaps(years: dict[int, dict[Key, str]]) -> None:
    """A year missing between two packages takes the names both agree on."""
    for year in range(min(years) + 1, max(years)):
        if year in years:
            continue
        before = years[max(y for y in years if y < year)]
        after = years[min(y for y in years if y > year)]
        years[year] = {key: name for key, name in before.items() if after.get(key) == name}


def rows(years: dict[int, dict[Key, str]]) -> list[tuple[str, str, str, int, int]]:
    """(level, code, name, first year, last year): one row per name and run of years."""
    _fill_gaps(years)
    found: list[tuple[str, str, str, int, int]] = []
    keys = sorted({key for names in years.values() for key in names})
    for level, code in keys:
        run: tuple[str, int] | None = None
        for year in sorted(years):
            name = years[year].get((level, code))
            if run is not None and name != run[0]:
                found.append((level, code, run[0], run[1], year - 1))
                run = None
            if name is not None and run is None:
                run = (name, year)
        if run is not None:
            found.append((level, code, run[0], run[1], max(years)))
    return found


def main(arguments: list[str]) -> None:
    years = {}
    for argument in arguments:
        year, _, directory = argument.partition("=")
        years[int(year)] = _names_of(Path(directory))
        print(f"{year}: {len(years[int(year)])} names from {directory}", file=sys.stderr)
    with OUTPUT.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["level", "code", "name", "first_cog_year", "last_cog_year"])
        writer.writerows(rows(years))
    print(f"wrote {OUTPUT}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
