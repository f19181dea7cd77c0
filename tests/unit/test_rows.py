"""The batch rows' SQLite writes store exactly the text SQLAlchemy's own statements store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from projections.rows import BatchRows, _processor

SQLITE = sqlite.dialect()
moments = st.datetimes(
    timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=2))]),
)


@given(value=st.one_of(st.none(), st.dates()))
def test_a_date_is_written_as_sqlalchemy_writes_it(value: date | None) -> None:
    expected = sa.Date()._cached_bind_processor(SQLITE)
    assert expected is not None
    assert _processor(sa.Date(), SQLITE)(value) == expected(value)


@given(value=st.one_of(st.none(), moments))
def test_a_datetime_is_written_as_sqlalchemy_writes_it(value: datetime | None) -> None:
    expected = sa.DateTime(timezone=True)._cached_bind_processor(SQLITE)
    assert expected is not None
    assert _processor(sa.DateTime(timezone=True), SQLITE)(value) == expected(value)


def test_rows_written_in_bulk_hold_the_text_of_sqlalchemys_own_insert() -> None:
    metadata = sa.MetaData()
    table = sa.Table(
        "t",
        metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("on", sa.Date),
        sa.Column("at", sa.DateTime(timezone=True)),
        sa.Column("tags", sa.JSON),
        sa.Column("n", sa.Integer),
    )
    shared = ["a", "b"]
    rows = [
        {
            "id": "1",
            "on": date(2025, 1, 6),
            "at": datetime(2026, 1, 1, tzinfo=UTC),
            "tags": shared,
            "n": 1,
        },
        {"id": "2", "on": None, "at": None, "tags": None, "n": None},
        {
            "id": "3",
            "on": date(9999, 12, 31),
            "at": datetime(2026, 1, 1, 3, 4, 5, 6),
            "tags": shared,
            "n": 3,
        },
    ]
    engine = sa.create_engine("sqlite://")
    raw = sa.select(*(sa.cast(c, sa.String) for c in table.columns)).order_by(table.c.id)
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(sa.insert(table), rows)
        expected = connection.execute(raw).all()
        connection.execute(sa.delete(table))
        batch = BatchRows(connection, {table: table})
        for row in rows:
            batch.insert(table, **row)
        batch.flush()
        assert connection.execute(raw).all() == expected
        # Changed rows go as an upsert on the same path.
        batch.prefetch(table, ["1"])
        (stored,) = batch.partition(table, "1")
        batch.update(table, stored, n=7, tags=["c"])
        batch.flush()
        assert connection.execute(
            sa.select(table.c.n, table.c.tags).where(table.c.id == "1")
        ).one() == (7, ["c"])
