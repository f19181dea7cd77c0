"""Where a portfolio question's time goes: each statement of `projections.queries.portfolio`
run alone on a SQLite store, every row fetched, in CPU time, with its query plan.

    .venv/bin/python -m bench.portfolio_statements STORE.sqlite [--on 2023-12-31]
        [--known-at 2026-11-30T07:42:40+00:00]

The store is any tracker store (a national one: `bench.national.Writer`, then
`tracker projections rebuild`). Each question (the whole live portfolio, read from its
roll-ups and scanned; a time slice on a date; the same as known at an instant) is asked
three times through `projections.queries`, and the statements it sent are replayed on a
plain `sqlite3` connection (best of three) beside `EXPLAIN QUERY PLAN`
(docs/benchmarks.md "The portfolio's roll-ups").
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from projections import queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a SQLite store's path")
    parser.add_argument("--on", type=date.fromisoformat, default=date(2023, 12, 31))
    parser.add_argument("--known-at", type=datetime.fromisoformat, default=None)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    args = parser.parse_args()
    engine = sa.create_engine(f"sqlite:///{args.store}")
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def capture(*found: Any) -> None:
        sent.append((found[2], found[3]))

    questions: dict[str, Callable[[], queries.Portfolio]] = {
        "whole live portfolio, from its roll-ups": lambda: queries.portfolio(
            engine, None, args.today, 30
        ),
        "whole live portfolio, its rows scanned": lambda: queries.scanned_portfolio(
            engine, None, args.today, 30
        ),
        f"on {args.on}": lambda: queries.portfolio(
            engine, None, args.on, 30, queries.sliced(args.on, None)
        ),
    }
    if args.known_at is not None:
        questions[f"on {args.on}, as known at {args.known_at}"] = lambda: queries.portfolio(
            engine, None, args.on, 30, queries.sliced(args.on, args.known_at)
        )
    plain = sqlite3.connect(args.store)
    for name, ask in questions.items():
        sent.clear()
        started = time.process_time()
        for _ in range(3):
            ask()
        cpu = (time.process_time() - started) / 3
        statements = sent[: len(sent) // 3]
        print(f"{name}: {cpu * 1000:.1f} ms CPU, {len(statements)} statements")
        for sql, params in statements:
            best, rows = float("inf"), 0
            for _ in range(3):
                started = time.process_time()
                rows = len(plain.execute(sql, params).fetchall())
                best = min(best, time.process_time() - started)
            plan = " | ".join(r[3] for r in plain.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            print(f"  {best * 1000:7.1f} ms {rows:6d} rows  {' '.join(sql.split())[:70]}")
            print(f"      {plan}")


if __name__ == "__main__":
    main()
