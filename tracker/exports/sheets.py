"""A table to export: French column titles, typed cells, one sheet per table.

A spreadsheet (`tracker/exports/spreadsheets.py`) writes `Table`s it knows nothing else
about; adding a table to an export is a `Table` of `Column`s and its rows
(`tracker/exports/tables.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """How a column's values are written: as text, dates, integers, numbers or euros."""

    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    INTEGER = "integer"
    NUMBER = "number"
    EUROS = "euros"
    """Given in cents (integers, as the domain keeps them), written as euros."""


@dataclass(frozen=True)
class Column:
    """A column: the row's key, its French title and the kind of its values."""

    key: str
    title: str
    kind: Kind = Kind.TEXT
    width: int = 18


@dataclass(frozen=True)
class Table:
    """A sheet: its French name (at most 31 characters), columns and rows (dicts by key)."""

    name: str
    columns: Sequence[Column]
    rows: Sequence[dict[str, Any]]

    def __post_init__(self) -> None:
        if len(self.name) > 31:
            raise ValueError(f"a sheet name has at most 31 characters: {self.name!r}")
