"""docs/enums.md's rule: a GraphQL enum value is the REST value upper-cased, for every enum."""

from __future__ import annotations

import enum

from domain import values


def test_every_enum_members_name_is_its_value_upper_cased() -> None:
    enums = [
        obj
        for obj in vars(values).values()
        if isinstance(obj, type) and issubclass(obj, enum.StrEnum) and obj is not enum.StrEnum
    ]
    assert len(enums) >= 5
    assert [(e.__name__, m.name) for e in enums for m in e if m.name != m.value.upper()] == []
