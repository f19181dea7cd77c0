"""Dates typed into the pages: French first (jj/mm/aaaa), ISO 8601 accepted too.

The pages' date fields are text fields showing and taking the French form « 31/12/2024 »
(docs/web.md, « Dates in the forms »): a browser's own date field follows the browser's
language, not the page's, and shows « 12/31/2024 » in an American one. Links and scripts
keep ISO 8601 (`?on=2024-12-31`), which every field accepts as well. Anything else is
refused with a French message naming the field.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_FRENCH_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_FRENCH_INSTANT = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?"
)


def parse_date(text: str) -> date:
    """« 31/12/2024 » (also with dots or dashes, and one-digit day or month) or
    « 2024-12-31 »; ValueError for anything else."""
    text = text.strip()
    found = _FRENCH_DATE.fullmatch(text)
    if found:
        day, month, year = (int(part) for part in found.groups())
        return date(year, month, day)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    raise ValueError(f"not a date: {text!r}")


def parse_instant(text: str) -> datetime:
    """« 31/12/2024 », « 31/12/2024 14:30 », « 31/12/2024 14:30:05 » (the time as
    « 14h30 » too) or ISO 8601; naive: the caller says in which zone. ValueError else."""
    text = text.strip()
    found = _FRENCH_INSTANT.fullmatch(text)
    if found:
        day, month, year, hour, minute, second = (int(part or 0) for part in found.groups())
        return datetime(year, month, day, hour, minute, second)
    if not re.match(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"not an instant: {text!r}")
    return datetime.fromisoformat(text)


def field_date(value: date | datetime | str | None) -> str:
    """A date as its field shows it: « 31/12/2024 » (empty for none)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = parse_date(value)
    return value.strftime("%d/%m/%Y")


def field_instant(value: datetime | None) -> str:
    """An instant as its field shows it: « 31/12/2024 14:30:05 » (empty for none)."""
    return value.strftime("%d/%m/%Y %H:%M:%S") if value is not None else ""
