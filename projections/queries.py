"""The SQL behind the dashboards: synchronous reads of the read models.

Resolvers never call these on the event loop: they go through `run_sync` (a worker
thread). Each function is one statement (or one per table for roll-ups), whatever the
number of rows asked for: the DataLoaders batch the per-row lookups into `IN (...)`.

Each takes an engine or an open connection (`Bind`). A root resolver reads its page and
the rows its nested fields will ask for (`related_rows`: labs, next milestones…) in one
worker-thread call on one connection (`project_page_with`, `milestone_page_with`), instead
of one thread hop and one pool checkout per DataLoader batch; the statements are the
same, one per kind of related row.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import operator
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, RowMapping

from projections.timeline import END_DATE, END_OF_TIME
from tracker.schema.read_models import (
    BITEMPORAL,
    TRAINING_BITEMPORAL,
    activities,
    activity_feed,
    campaigns,
    funding,
    indicators,
    labs,
    milestones,
    phase_periods,
    portfolio_counts,
    project_territories,
    project_themes,
    projects,
    projects_counted_bt,
    training_attendance,
    trainings,
)

MAX_PAGE = 100

Bind = Engine | Connection


@dataclass(frozen=True)
class Tables:
    """The project tables a read runs on: the live read models, or a time slice of their
    bitemporal twins (`sliced`), which have the same columns."""

    projects: sa.FromClause
    project_themes: sa.FromClause
    project_territories: sa.FromClause
    milestones: sa.FromClause
    phase_periods: sa.FromClause
    activities: sa.FromClause
    funding: sa.FromClause
    indicators: sa.FromClause
    # A time slice's projects with their counted columns only (`rm_projects_counted_bt`:
    # a few rows per project instead of one per event): what its portfolio counts and
    # filters on, but for a text, which needs the titles (`scanned_portfolio`).
    counted_projects: sa.FromClause | None = None


LIVE = Tables(
    projects=projects,
    project_themes=project_themes,
    project_territories=project_territories,
    milestones=milestones,
    phase_periods=phase_periods,
    activities=activities,
    funding=funding,
    indicators=indicators,
)


@contextlib.contextmanager
def connected(bind: Bind) -> Iterator[Connection]:
    """`bind` itself if it is a connection, else one of the engine's until the block ends."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as connection:
        yield connection


class BadInput(ValueError):
    """The client asked for something malformed (a bad cursor, `first` out of range)."""


# Due dates are at most 100 years ahead (tracker/api/milestones.py); a larger window would
# overflow the date arithmetic (an internal error) and could not match more milestones.
MAX_DUE_WITHIN_DAYS = 366 * 100


def _check_due_within_days(days: int) -> None:
    if days < 0:
        raise BadInput("dueWithinDays cannot be negative")
    if days > MAX_DUE_WITHIN_DAYS:
        raise BadInput(f"dueWithinDays is at most {MAX_DUE_WITHIN_DAYS}")


@dataclass(frozen=True)
class ProjectQuery:
    lab: str | None = None
    phase: str | None = None
    health: str | None = None
    status: str | None = None
    theme: str | None = None
    territory: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class MilestoneQuery:
    projects: ProjectQuery | None = None
    project_id: str | None = None
    status: str | None = None
    due_within_days: int | None = None
    overdue: bool | None = None
    slipped: bool | None = None


@dataclass(frozen=True)
class ActivityQuery:
    """Which activities: of the projects a filter keeps, of one project, of one kind, and
    held between two dates (both included)."""

    projects: ProjectQuery | None = None
    project_id: str | None = None
    kind: str | None = None
    held_from: date | None = None
    held_to: date | None = None


@dataclass(frozen=True)
class Page:
    rows: list[RowMapping]
    has_next: bool
    total: int


# -- cursors ---------------------------------------------------------------------------


def encode_cursor(*values: Any) -> str:
    plain = json.dumps([v.isoformat() if isinstance(v, date) else v for v in values])
    return base64.urlsafe_b64encode(plain.encode()).decode()


MAX_CURSOR_LENGTH = 512  # every cursor this API gives is far shorter


def decode_cursor(cursor: str, size: int) -> list[Any]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadInput("this is not a cursor this API gave")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadInput(f"{cursor!r} is not a cursor this API gave") from None
    if not isinstance(values, list) or len(values) != size:
        raise BadInput(f"{cursor!r} is not a cursor this API gave")
    return values


# Positions are BIGINT columns: a cursor holding a larger number (2**70) names no row, and
# SQLite would refuse to bind it ("Python int too large"): refuse it as the client's mistake.
MAX_POSITION = 2**63 - 1
MAX_ID_LENGTH = 64


def cursor_position(cursor: str) -> int:
    """The one position a project or feed cursor holds, checked for type and range."""
    (position,) = decode_cursor(cursor, 1)
    if isinstance(position, bool) or not isinstance(position, int):
        raise BadInput(f"{cursor!r} is not a cursor this API gave")
    if not 0 <= position <= MAX_POSITION:
        raise BadInput(f"{cursor!r} is not a cursor this API gave")
    return position


def cursor_milestone_key(cursor: str) -> tuple[date, str, str]:
    """The (due date, project id, milestone id) a milestone cursor holds, checked for type."""
    due, project_id, milestone_id = decode_cursor(cursor, 3)
    if not (
        isinstance(due, str)
        and isinstance(project_id, str)
        and isinstance(milestone_id, str)
        and len(project_id) <= MAX_ID_LENGTH
        and len(milestone_id) <= MAX_ID_LENGTH
    ):
        raise BadInput(f"{cursor!r} is not a cursor this API gave")
    try:
        return date.fromisoformat(due), project_id, milestone_id
    except ValueError:
        raise BadInput(f"{cursor!r} is not a cursor this API gave") from None


def check_first(first: int) -> int:
    if not 0 <= first <= MAX_PAGE:
        raise BadInput(f"first must be between 0 and {MAX_PAGE}, got {first}")
    return first


# -- projects ----------------------------------------------------------------------------


def project_conditions(query: ProjectQuery | None, tables: Tables = LIVE) -> list[Any]:
    """The filter's conditions on `rm_projects` (none without a filter: every project)."""
    projects, project_themes, project_territories = (
        tables.projects,
        tables.project_themes,
        tables.project_territories,
    )
    p = projects
    if query is None:
        return []
    conditions: list[Any] = []
    if query.lab:
        conditions.append(p.c.lab == query.lab)
    if query.phase:
        conditions.append(p.c.phase == query.phase)
    if query.health:
        conditions.append(p.c.health == query.health)
    if query.status:
        conditions.append(p.c.status == query.status)
    if query.text:
        escaped = query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(p.c.title.ilike(f"%{escaped}%", escape="\\"))
    if query.theme:
        conditions.append(
            p.c.id.in_(
                sa.select(project_themes.c.project_id).where(project_themes.c.theme == query.theme)
            )
        )
    if query.territory:
        t = project_territories
        conditions.append(
            p.c.id.in_(
                sa.select(t.c.project_id).where(
                    (t.c.code == query.territory) | (t.c.department == query.territory)
                )
            )
        )
    return conditions


def project_ids(query: ProjectQuery | None, tables: Tables = LIVE) -> sa.Select[tuple[str]]:
    """The ids of the projects the filter keeps, as a subquery."""
    projects = tables.projects
    return sa.select(projects.c.id).where(*project_conditions(query, tables))


def kept_projects(
    column: sa.ColumnElement[Any], query: ProjectQuery | None, tables: Tables = LIVE
) -> list[Any]:
    """`column` (a project id) among the projects the filter keeps: no condition at all
    without a filter (not `IN (SELECT id FROM rm_projects)`, which every row satisfies)."""
    projects = tables.projects
    conditions = project_conditions(query, tables)
    if not conditions:
        return []
    return [column.in_(sa.select(projects.c.id).where(*conditions))]


def project_page(
    bind: Bind, query: ProjectQuery | None, first: int, after: str | None, tables: Tables = LIVE
) -> Page:
    """Projects in registration order, keyset-paged on the registration position."""
    projects = tables.projects
    check_first(first)
    conditions = project_conditions(query, tables)
    statement = sa.select(projects).where(*conditions)
    if after is not None:
        position = cursor_position(after)
        statement = statement.where(projects.c.registered_position > position)
    statement = statement.order_by(projects.c.registered_position).limit(first + 1)
    with connected(bind) as connection:
        rows = list(connection.execute(statement).mappings())
        total = connection.scalar(
            sa.select(sa.func.count()).select_from(projects).where(*conditions)
        )
    return Page(rows[:first], len(rows) > first, int(total or 0))


def projects_by_id(
    bind: Bind, ids: Sequence[str], tables: Tables = LIVE
) -> list[RowMapping | None]:
    projects = tables.projects
    with connected(bind) as connection:
        rows = {
            r.id: r
            for r in connection.execute(
                sa.select(projects).where(projects.c.id.in_(ids))
            ).mappings()
        }
    return [rows.get(i) for i in ids]


def labs_by_slug(bind: Bind, slugs: Sequence[str]) -> list[RowMapping | None]:
    with connected(bind) as connection:
        rows = {
            r.slug: r
            for r in connection.execute(sa.select(labs).where(labs.c.slug.in_(slugs))).mappings()
        }
    return [rows.get(s) for s in slugs]


def all_labs(bind: Bind) -> list[RowMapping]:
    with connected(bind) as connection:
        return list(connection.execute(sa.select(labs).order_by(labs.c.slug)).mappings())


def _grouped(
    bind: Bind, table: sa.FromClause, ids: Sequence[str], order: Sequence[Any]
) -> list[list[RowMapping]]:
    groups: dict[str, list[RowMapping]] = defaultdict(list)
    with connected(bind) as connection:
        statement = sa.select(table).where(table.c.project_id.in_(ids)).order_by(*order)
        for row in connection.execute(statement).mappings():
            groups[row.project_id].append(row)
    return [groups.get(i, []) for i in ids]


def milestones_of(bind: Bind, ids: Sequence[str], tables: Tables = LIVE) -> list[list[RowMapping]]:
    milestones = tables.milestones
    m = milestones
    return _grouped(bind, m, ids, (m.c.due_on, m.c.milestone_id))


def phase_periods_of(
    bind: Bind, ids: Sequence[str], tables: Tables = LIVE
) -> list[list[RowMapping]]:
    phase_periods = tables.phase_periods
    return _grouped(bind, phase_periods, ids, (phase_periods.c.seq,))


def activities_of(bind: Bind, ids: Sequence[str], tables: Tables = LIVE) -> list[list[RowMapping]]:
    activities = tables.activities
    a = activities
    return _grouped(bind, a, ids, (a.c.held_on, a.c.activity_id))


def funding_of(bind: Bind, ids: Sequence[str], tables: Tables = LIVE) -> list[list[RowMapping]]:
    funding = tables.funding
    f = funding
    return _grouped(bind, f, ids, (f.c.fiscal_year, f.c.source))


def indicators_of(bind: Bind, ids: Sequence[str], tables: Tables = LIVE) -> list[list[RowMapping]]:
    indicators = tables.indicators
    return _grouped(bind, indicators, ids, (indicators.c.name, indicators.c.indicator_id))


def milestones_by_key(
    bind: Bind, keys: Sequence[tuple[str, str]], tables: Tables = LIVE
) -> list[RowMapping | None]:
    milestones = tables.milestones
    m = milestones
    ids = sorted({k[0] for k in keys})
    with connected(bind) as connection:
        rows = {
            (r.project_id, r.milestone_id): r
            for r in connection.execute(
                sa.select(m).where(
                    m.c.project_id.in_(ids), m.c.milestone_id.in_(sorted({k[1] for k in keys}))
                )
            ).mappings()
        }
    return [rows.get(k) for k in keys]


# -- a page and its related rows, on one connection ------------------------------------

# The DataLoaders (tracker/graphql/context.py `Loaders`) a project's nested fields use, and
# how each keys a project's row.
PROJECT_RELATIONS = (
    "lab",
    "milestone",
    "milestones",
    "phase_periods",
    "activities",
    "funding",
    "indicators",
)
Related = dict[str, dict[Any, Any]]


def related_rows(
    bind: Bind, rows: Sequence[RowMapping], wanted: Collection[str], tables: Tables = LIVE
) -> Related:
    """For the projects `rows`, the related rows each of the `wanted` loaders would read
    (a subset of `PROJECT_RELATIONS`): loader name → {key: value}, one statement each."""
    related: Related = {}
    if not rows:
        return related
    ids = [r.id for r in rows]
    with connected(bind) as connection:
        if "lab" in wanted:
            slugs = sorted({r.lab for r in rows})
            related["lab"] = dict(zip(slugs, labs_by_slug(connection, slugs), strict=True))
        if "milestone" in wanted:
            keys = [(r.id, r.next_milestone_id) for r in rows if r.next_milestone_id]
            found = milestones_by_key(connection, keys, tables) if keys else []
            related["milestone"] = dict(zip(keys, found, strict=True))
        groups = {
            "milestones": milestones_of,
            "phase_periods": phase_periods_of,
            "activities": activities_of,
            "funding": funding_of,
            "indicators": indicators_of,
        }
        for name, read in groups.items():
            if name in wanted:
                related[name] = dict(zip(ids, read(connection, ids, tables), strict=True))
    return related


def project_page_with(
    bind: Bind,
    query: ProjectQuery | None,
    first: int,
    after: str | None,
    wanted: Collection[str],
    tables: Tables = LIVE,
) -> tuple[Page, Related]:
    """`project_page` and the `wanted` related rows of its projects, on one connection."""
    with connected(bind) as connection:
        page = project_page(connection, query, first, after, tables)
        return page, related_rows(connection, page.rows, wanted, tables)


def activity_page_with(
    bind: Bind,
    query: ActivityQuery | None,
    first: int,
    after: str | None,
    wanted: Collection[str] | None,
    tables: Tables = LIVE,
) -> tuple[Page, Related]:
    """`activity_page`, then (as `milestone_page_with`) the page's projects and their
    `wanted` related rows when their `project` is asked for, on one connection."""
    with connected(bind) as connection:
        page = activity_page(connection, query, first, after, tables)
        return page, page_projects(connection, page.rows, wanted, tables)


def page_projects(
    connection: Connection,
    rows: Sequence[RowMapping],
    wanted: Collection[str] | None,
    tables: Tables,
) -> Related:
    """The projects of a page's `rows` (under "project") and their `wanted` related rows;
    nothing when `wanted` is None (their `project` is not asked for)."""
    related: Related = {}
    if wanted is not None and rows:
        ids = sorted({r.project_id for r in rows})
        found = projects_by_id(connection, ids, tables)
        related["project"] = dict(zip(ids, found, strict=True))
        kept = [r for r in found if r is not None]
        related.update(related_rows(connection, kept, wanted, tables))
    return related


def milestone_page_with(
    bind: Bind,
    query: MilestoneQuery | None,
    today: date,
    first: int,
    after: str | None,
    wanted: Collection[str] | None,
    tables: Tables = LIVE,
) -> tuple[Page, Related]:
    """`milestone_page`, then (when `wanted` is not None: their `project` is asked for) the
    page's projects (under "project") and their `wanted` related rows, on one connection."""
    with connected(bind) as connection:
        page = milestone_page(connection, query, today, first, after, tables)
        return page, page_projects(connection, page.rows, wanted, tables)


# -- milestones --------------------------------------------------------------------------


def milestone_conditions(
    query: MilestoneQuery | None, today: date, tables: Tables = LIVE
) -> list[Any]:
    milestones = tables.milestones
    m = milestones
    if query is None:
        return []
    conditions: list[Any] = []
    if query.projects is not None:
        conditions += kept_projects(m.c.project_id, query.projects, tables)
    if query.project_id is not None:
        conditions.append(m.c.project_id == query.project_id)
    if query.status is not None:
        conditions.append(m.c.status == query.status)
    if query.due_within_days is not None:
        _check_due_within_days(query.due_within_days)
        conditions += [
            m.c.status == "planned",
            m.c.due_on >= today,
            m.c.due_on <= today + timedelta(days=query.due_within_days),
        ]
    if query.overdue is not None:
        overdue = (m.c.status == "planned") & (m.c.due_on < today)
        conditions.append(overdue if query.overdue else ~overdue)
    if query.slipped is not None:
        conditions.append(m.c.days_slipped > 0 if query.slipped else m.c.days_slipped <= 0)
    return conditions


def milestone_page(
    bind: Bind,
    query: MilestoneQuery | None,
    today: date,
    first: int,
    after: str | None,
    tables: Tables = LIVE,
) -> Page:
    """Milestones by due date (then project and id), keyset-paged on that triple."""
    milestones = tables.milestones
    check_first(first)
    m = milestones
    conditions = milestone_conditions(query, today, tables)
    statement = sa.select(m).where(*conditions)
    if after is not None:
        due_on, project_id, milestone_id = cursor_milestone_key(after)
        statement = statement.where(
            sa.tuple_(m.c.due_on, m.c.project_id, m.c.milestone_id)
            > sa.tuple_(sa.literal(due_on), sa.literal(project_id), sa.literal(milestone_id))
        )
    statement = statement.order_by(m.c.due_on, m.c.project_id, m.c.milestone_id).limit(first + 1)
    with connected(bind) as connection:
        rows = list(connection.execute(statement).mappings())
        total = connection.scalar(sa.select(sa.func.count()).select_from(m).where(*conditions))
    return Page(rows[:first], len(rows) > first, int(total or 0))


# -- funding -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingQuery:
    projects: ProjectQuery | None = None
    fiscal_year: int | None = None


def cursor_funding_key(cursor: str) -> tuple[int, str, str]:
    """The (fiscal year, project id, source) a funding cursor holds, checked for type."""
    year, project_id, source = decode_cursor(cursor, 3)
    if not (
        isinstance(year, int)
        and not isinstance(year, bool)
        and isinstance(project_id, str)
        and isinstance(source, str)
        and len(project_id) <= MAX_ID_LENGTH
        and len(source) <= MAX_CURSOR_LENGTH
    ):
        raise BadInput(f"{cursor!r} is not a cursor this API gave")
    return year, project_id, source


def funding_page(
    bind: Bind,
    query: FundingQuery | None,
    first: int,
    after: str | None,
    tables: Tables = LIVE,
) -> Page:
    """The funding lines (one source's commitments to one project for one fiscal year) by
    fiscal year, then project and source, keyset-paged on that triple."""
    check_first(first)
    f = tables.funding
    conditions: list[Any] = []
    if query is not None and query.projects is not None:
        conditions += kept_projects(f.c.project_id, query.projects, tables)
    if query is not None and query.fiscal_year is not None:
        conditions.append(f.c.fiscal_year == query.fiscal_year)
    statement = sa.select(f).where(*conditions)
    if after is not None:
        year, project_id, source = cursor_funding_key(after)
        statement = statement.where(
            sa.tuple_(f.c.fiscal_year, f.c.project_id, f.c.source)
            > sa.tuple_(sa.literal(year), sa.literal(project_id), sa.literal(source))
        )
    order = (f.c.fiscal_year, f.c.project_id, f.c.source)
    statement = statement.order_by(*order).limit(first + 1)
    with connected(bind) as connection:
        rows = list(connection.execute(statement).mappings())
        total = connection.scalar(sa.select(sa.func.count()).select_from(f).where(*conditions))
    return Page(rows[:first], len(rows) > first, int(total or 0))


# -- activities --------------------------------------------------------------------------


def activity_conditions(query: ActivityQuery | None, tables: Tables = LIVE) -> list[Any]:
    a = tables.activities
    if query is None:
        return []
    conditions: list[Any] = []
    if query.projects is not None:
        conditions += kept_projects(a.c.project_id, query.projects, tables)
    if query.project_id is not None:
        conditions.append(a.c.project_id == query.project_id)
    if query.kind is not None:
        conditions.append(a.c.kind == query.kind)
    if query.held_from is not None:
        conditions.append(a.c.held_on >= query.held_from)
    if query.held_to is not None:
        conditions.append(a.c.held_on <= query.held_to)
    return conditions


def activity_cursor(row: RowMapping) -> str:
    """The keyset cursor after `row` (for `activity_page`'s `after`)."""
    return encode_cursor(row.held_on, row.project_id, row.activity_id)


def activity_page(
    bind: Bind, query: ActivityQuery | None, first: int, after: str | None, tables: Tables = LIVE
) -> Page:
    """The projects' activities, the latest held first (then by project and id),
    keyset-paged on that triple."""
    check_first(first)
    a = tables.activities
    conditions = activity_conditions(query, tables)
    statement = sa.select(a).where(*conditions)
    if after is not None:
        # The same shape as a milestone's cursor: (date, project id, id).
        held_on, project_id, activity_id = cursor_milestone_key(after)
        statement = statement.where(
            sa.tuple_(a.c.held_on, a.c.project_id, a.c.activity_id)
            < sa.tuple_(sa.literal(held_on), sa.literal(project_id), sa.literal(activity_id))
        )
    statement = statement.order_by(
        a.c.held_on.desc(), a.c.project_id.desc(), a.c.activity_id.desc()
    ).limit(first + 1)
    with connected(bind) as connection:
        rows = list(connection.execute(statement).mappings())
        total = connection.scalar(sa.select(sa.func.count()).select_from(a).where(*conditions))
    return Page(rows[:first], len(rows) > first, int(total or 0))


# -- activity feed -----------------------------------------------------------------------


def feed_page(
    bind: Bind,
    project_id: str | None,
    since: datetime | None,
    first: int,
    after: str | None,
) -> Page:
    """The feed, newest first, keyset-paged on the position."""
    check_first(first)
    f = activity_feed
    conditions: list[Any] = []
    if project_id is not None:
        conditions.append(f.c.project_id == project_id)
    if since is not None:
        conditions.append(f.c.recorded_at >= since)
    statement = sa.select(f).where(*conditions)
    if after is not None:
        statement = statement.where(f.c.position < cursor_position(after))
    statement = statement.order_by(f.c.position.desc()).limit(first + 1)
    with connected(bind) as connection:
        rows = list(connection.execute(statement).mappings())
        total = connection.scalar(sa.select(sa.func.count()).select_from(f).where(*conditions))
    return Page(rows[:first], len(rows) > first, int(total or 0))


# -- portfolio ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Portfolio:
    total: int
    by_phase: list[tuple[str, int]]
    by_health: list[tuple[str, int]]
    by_status: list[tuple[str, int]]
    by_lab: list[tuple[str, int]]
    by_territory: list[tuple[str, str, int]]
    by_theme: list[tuple[str, int]]
    milestones_open: int
    milestones_due_soon: int
    milestones_overdue: int
    milestones_slipped: int
    milestones_achieved: int
    activities_by_month: list[tuple[str, int, int]]
    funding_by_year: list[tuple[int, int]]


def _project_counts(
    connection: Connection, kept: list[Any], tables: Tables = LIVE
) -> tuple[
    int, list[tuple[str, int]], list[tuple[str, int]], list[tuple[str, int]], list[tuple[str, int]]
]:
    """The kept projects' total, and their counts by phase, health, status and lab (the
    largest first, then by key), by each database's cheapest plan.

    SQLite answers each count from its column's index alone (a covering index scan, well
    under a millisecond at 10,000 projects), so one statement each. PostgreSQL scans the
    table for each (an index-only scan needs a vacuumed table), so there one scan counts
    every (phase, health, status, lab) combination, at most one row per project, summed
    here per key: a third of the time at 10,000 projects. Ties are then ordered by the
    key's code points (the order of the C collation). A time slice (`sliced`) is counted
    by that one scan on both databases: on SQLite it reads the twin's slice index alone,
    which holds the four columns; one statement each would read it five times.
    """
    projects = tables.projects
    p = projects
    columns = (p.c.phase, p.c.health, p.c.status, p.c.lab)
    if connection.dialect.name != "postgresql" and tables is LIVE:
        total = int(connection.scalar(sa.select(sa.func.count()).select_from(p).where(*kept)) or 0)
        phase, health, status, lab = (
            [
                (r[0], int(r[1]))
                for r in connection.execute(
                    sa.select(column, sa.func.count())
                    .where(*kept)
                    .group_by(column)
                    .order_by(sa.func.count().desc(), column)
                )
            ]
            for column in columns
        )
        return total, phase, health, status, lab
    combinations: list[tuple[str, str, str, str, int]] = [
        (r[0], r[1], r[2], r[3], int(r[4]))
        for r in connection.execute(
            sa.select(*columns, sa.func.count()).where(*kept).group_by(*columns)
        )
    ]
    phase, health, status, lab = (
        _ranked((str(r[i]), r[4]) for r in combinations) for i in range(4)
    )
    return sum(r[4] for r in combinations), phase, health, status, lab


def _ranked(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Counts summed per key, the largest first (then by key)."""
    sums: dict[str, int] = defaultdict(int)
    for key, count in pairs:
        sums[key] += count
    return sorted(sums.items(), key=lambda item: (-item[1], item[0]))


def portfolio(
    bind: Bind, query: ProjectQuery | None, today: date, due_within_days: int, tables: Tables = LIVE
) -> Portfolio:
    """Every roll-up of the dashboards' portfolio view, over the filtered projects.

    The whole live portfolio (no filter) is read from the roll-ups the portfolio
    projection keeps (`counted_portfolio`): a few hundred rows, whatever the number of
    projects. A filter or a time slice counts the rows it keeps (`scanned_portfolio`; a
    slice's projects on their counted twin, `Tables.counted_projects`). Both give the
    same answer (tests/integration/test_portfolio_counts.py).
    """
    _check_due_within_days(due_within_days)
    if tables is LIVE and not project_conditions(query, tables):
        return counted_portfolio(bind, today, due_within_days)
    return scanned_portfolio(bind, query, today, due_within_days, tables)


def counted_portfolio(bind: Bind, today: date, due_within_days: int) -> Portfolio:
    """The whole live portfolio from `rm_portfolio_counts`, in two statements: every
    key's count but the milestones' due dates, and three sums over those (open, overdue,
    due soon, which depend on the day asked). Ties are ordered as `_ranked` orders them."""
    _check_due_within_days(due_within_days)
    c = portfolio_counts
    due = c.c.dimension == "due"
    soon = today + timedelta(days=due_within_days)
    found: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
    with connected(bind) as connection:
        for dimension, key, detail, counted, amount in connection.execute(
            sa.select(c.c.dimension, c.c.key, c.c.detail, c.c.counted, c.c.amount).where(
                c.c.dimension.in_(COUNTED_DIMENSIONS), c.c.counted > 0
            )
        ):
            found[dimension].append((key, detail, int(counted), int(amount)))
        planned = connection.execute(
            sa.select(
                sa.func.sum(c.c.counted),
                sa.func.sum(c.c.counted).filter(c.c.key < today.isoformat()),
                sa.func.sum(c.c.counted).filter(
                    (c.c.key >= today.isoformat()) & (c.c.key <= soon.isoformat())
                ),
            ).where(due)
        ).one()

    def ranked(dimension: str) -> list[tuple[str, int]]:
        return _ranked((key, counted) for key, _, counted, _ in found[dimension])

    def single(dimension: str) -> int:
        return sum(counted for _, _, counted, _ in found[dimension])

    by_phase = ranked("phase")
    return Portfolio(
        total=sum(n for _, n in by_phase),
        by_phase=by_phase,
        by_health=ranked("health"),
        by_status=ranked("status"),
        by_lab=ranked("lab"),
        by_territory=_ranked_territories(
            (key, detail, counted) for key, detail, counted, _ in found["territory"]
        ),
        by_theme=ranked("theme"),
        milestones_open=int(planned[0] or 0),
        milestones_due_soon=int(planned[2] or 0),
        milestones_overdue=int(planned[1] or 0),
        milestones_slipped=single("slipped"),
        milestones_achieved=single("achieved"),
        activities_by_month=sorted((key, n, amount) for key, _, n, amount in found["month"]),
        funding_by_year=sorted((int(key), amount) for key, _, _, amount in found["year"]),
    )


# The dimensions of `rm_portfolio_counts` read row by row (the due dates are summed).
COUNTED_DIMENSIONS = (
    "phase",
    "health",
    "status",
    "lab",
    "theme",
    "territory",
    "slipped",
    "achieved",
    "month",
    "year",
)


def _ranked_territories(rows: Iterable[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """(code, level, count) rows, the largest first, then by code and level."""
    return sorted(rows, key=lambda row: (-row[2], row[0], row[1]))


def scanned_portfolio(
    bind: Bind, query: ProjectQuery | None, today: date, due_within_days: int, tables: Tables = LIVE
) -> Portfolio:
    """Every roll-up of the portfolio over the rows of the filtered projects (of a time
    slice, or live). Ties are ordered in Python (`_ranked`), as on every database."""
    milestones, activities, funding, project_territories, project_themes = (
        tables.milestones,
        tables.activities,
        tables.funding,
        tables.project_territories,
        tables.project_themes,
    )
    _check_due_within_days(due_within_days)
    m, a, f = milestones, activities, funding
    t, th = project_territories, project_themes
    if tables.counted_projects is not None and not (query and query.text):
        # A time slice counts and filters its projects on their counted columns alone.
        tables = dataclasses.replace(tables, projects=tables.counted_projects)
    kept = project_conditions(query, tables)
    planned = m.c.status == "planned"
    with connected(bind) as connection:
        total, by_phase, by_health, by_status, by_lab = _project_counts(connection, kept, tables)
        # (project_id, level, code) is the table's primary key: within one (code, level)
        # each project appears once, so count(*) is the number of distinct projects
        # (without the sort that count(DISTINCT …) costs).
        by_territory = _ranked_territories(
            (r[0], r[1], int(r[2]))
            for r in connection.execute(
                sa.select(t.c.code, t.c.level, sa.func.count())
                .where(*kept_projects(t.c.project_id, query, tables))
                .group_by(t.c.code, t.c.level)
            )
        )
        by_theme = _ranked(
            (r[0], int(r[1]))
            for r in connection.execute(
                sa.select(th.c.theme, sa.func.count())
                .where(*kept_projects(th.c.project_id, query, tables))
                .group_by(th.c.theme)
            )
        )
        soon = (
            planned
            & (m.c.due_on >= today)
            & (m.c.due_on <= today + timedelta(days=due_within_days))
        )
        figures = connection.execute(
            sa.select(
                sa.func.count().filter(planned),
                sa.func.count().filter(soon),
                sa.func.count().filter(planned & (m.c.due_on < today)),
                sa.func.count().filter(m.c.days_slipped > 0),
                sa.func.count().filter(m.c.status == "achieved"),
            ).where(*kept_projects(m.c.project_id, query, tables))
        ).one()
        by_month = [
            (r[0], r[1], int(r[2] or 0))
            for r in connection.execute(
                sa.select(a.c.month, sa.func.count(), sa.func.sum(a.c.participants))
                .where(*kept_projects(a.c.project_id, query, tables))
                .group_by(a.c.month)
                .order_by(a.c.month)
            )
        ]
        by_year = [
            (r[0], int(r[1] or 0))
            for r in connection.execute(
                sa.select(f.c.fiscal_year, sa.func.sum(f.c.amount_cents))
                .where(*kept_projects(f.c.project_id, query, tables))
                .group_by(f.c.fiscal_year)
                .order_by(f.c.fiscal_year)
            )
        ]
    return Portfolio(
        total=total,
        by_phase=by_phase,
        by_health=by_health,
        by_status=by_status,
        by_lab=by_lab,
        by_territory=by_territory,
        by_theme=by_theme,
        milestones_open=int(figures[0]),
        milestones_due_soon=int(figures[1]),
        milestones_overdue=int(figures[2]),
        milestones_slipped=int(figures[3]),
        milestones_achieved=int(figures[4]),
        activities_by_month=by_month,
        funding_by_year=by_year,
    )


# -- time travel (docs/time.md) --------------------------------------------------------------


def instant(moment: datetime) -> datetime:
    """An aware UTC instant (a naive one is read as UTC, as the REST API does)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def sliced(on: date | None, known_at: datetime | None) -> Tables:
    """The project tables on the business date `on` (None: the latest), as known at the
    instant `known_at` (None: now): subqueries of the timeline's bitemporal twins, named and
    shaped as the live tables, so that every read above runs on them unchanged.

    Each is one indexed range condition per axis: its cost depends on the rows of that
    (date, instant), not on the length of the log, and nothing is replayed or cached.
    """

    def cut(table: sa.Table, twin: sa.Table | None = None) -> sa.FromClause:
        twin = BITEMPORAL[table] if twin is None else twin
        conditions: list[Any] = []
        if known_at is None:
            conditions.append(twin.c.recorded_to == END_OF_TIME)
        else:
            moment = instant(known_at)
            conditions += [twin.c.recorded_to > moment, twin.c.recorded_from <= moment]
        if on is None:
            conditions.append(twin.c.valid_to == END_DATE)
        else:
            conditions += [twin.c.valid_to > on, twin.c.valid_from <= on]
        columns = [twin.c[c.name] for c in table.columns if c.name in twin.c]
        return sa.select(*columns).where(*conditions).subquery(table.name)

    return Tables(
        projects=cut(projects),
        project_themes=cut(project_themes),
        project_territories=cut(project_territories),
        milestones=cut(milestones),
        phase_periods=cut(phase_periods),
        activities=cut(activities),
        funding=cut(funding),
        indicators=cut(indicators),
        counted_projects=cut(projects, projects_counted_bt),
    )


def day_of(on: date | None, known_at: datetime | None, today: date, zone: tzinfo) -> date:
    """The day "overdue" and "due soon" count from: the business date asked for, else the
    day of the instant asked for (in the server's zone), else today."""
    if on is not None:
        return on
    if known_at is not None:
        return instant(known_at).astimezone(zone).date()
    return today


def project_with(
    bind: Bind, project_id: str, wanted: Collection[str], tables: Tables = LIVE
) -> tuple[RowMapping | None, Related]:
    """One project's row and the `wanted` related rows, on one connection."""
    with connected(bind) as connection:
        (row,) = projects_by_id(connection, [project_id], tables)
        related = related_rows(connection, [row], wanted, tables) if row is not None else {}
        return row, related


# -- comparing two dates (docs/time.md) -------------------------------------------------------


@dataclass(frozen=True)
class MilestoneChange:
    milestone_id: str
    title: str
    change: str  # planned, slipped, brought_forward, achieved, cancelled
    days: int  # for slipped (positive) and brought forward (negative): the due date's move


@dataclass(frozen=True)
class ProjectChange:
    project_id: str
    title: str
    lab: str
    opened: bool
    closed: bool
    reopened: bool
    phase_before: str | None
    phase_after: str | None
    health_before: str | None
    health_after: str | None
    phases_entered: list[str]
    phases_left: list[str]
    milestones: list[MilestoneChange]


@dataclass(frozen=True)
class Changes:
    projects: list[ProjectChange]

    def count(self, predicate: Any) -> int:
        return sum(1 for p in self.projects if predicate(p))

    def milestones(self, change: str) -> list[MilestoneChange]:
        return [m for p in self.projects for m in p.milestones if m.change == change]


def _then_and_now(
    twin: sa.Table,
    keys: Sequence[str],
    columns: Sequence[str],
    start: date,
    end: date,
    *conditions: Any,
) -> sa.Subquery:
    """One row per key of the bitemporal `twin` (as known now) that may differ between the
    dates `start` and `end`: `was` and `now` (1 when the key has a row on `start`, on
    `end`; else NULL) and each of `columns` on both dates (`was_<name>`, `now_<name>`;
    NULL where there is no row; a JSON column as its text, the same for equal values: one
    serializer wrote them all). `conditions` narrow the twin's rows (a filter applied on
    each date).

    It reads the rows that hold on one of the two dates only. The rows of a key, as known
    now, never overlap: a key with a row on both dates has the same row on both (nothing
    to compare: a year's comparison at 10,000 young projects leaves out 8,000 of them),
    and a key whose rows on the two dates differ, or that has a row on one date only, has
    each of them among those read. Grouped by key: each key has at most one row per date,
    so `max` of a `CASE` picks it. Not a join of two slices: once `ANALYZE` had given
    SQLite statistics, its planner searched one slice for every row of the other through
    the slice index (quadratic: a year's comparison at 10,000 projects ran for minutes); a
    grouped scan has no plan of that kind, on either database.
    """

    def valid(day: date) -> Any:
        return (twin.c.valid_from <= day) & (twin.c.valid_to > day)

    def then(day: date, column: Any) -> Any:
        # a JSON column as its text: PostgreSQL has neither `max` nor `=` on json
        value = sa.cast(column, sa.Text) if isinstance(column.type, sa.JSON) else column
        return sa.func.max(sa.case((valid(day), value)))

    on_start_only = (
        (twin.c.valid_from <= start) & (twin.c.valid_to > start) & (twin.c.valid_to <= end)
    )
    on_end_only = (twin.c.valid_from > start) & (twin.c.valid_from <= end) & (twin.c.valid_to > end)
    return (
        sa.select(
            *(twin.c[key] for key in keys),
            then(start, sa.literal(1)).label("was"),
            then(end, sa.literal(1)).label("now"),
            *(then(start, twin.c[name]).label(f"was_{name}") for name in columns),
            *(then(end, twin.c[name]).label(f"now_{name}") for name in columns),
        )
        .where(
            twin.c.recorded_to == END_OF_TIME,
            # implied by the two below, but a range of the slice index to seek
            twin.c.valid_to > start,
            on_start_only | on_end_only,
            *conditions,
        )
        .group_by(*(twin.c[key] for key in keys))
        .subquery(f"{twin.name}_then_and_now")
    )


def portfolio_changes(bind: Bind, query: ProjectQuery | None, start: date, end: date) -> Changes:
    """What changed in the filtered portfolio between the business dates `start` and `end`
    (as known now): the projects the filter keeps on either date, each compared between
    the two slices; phases entered and left in between from the phase periods on `end`.

    The comparison is SQL's: each twin's rows that hold on one of the two dates only are
    grouped by key with their values on both dates (`_then_and_now`). Three statements
    whatever the size of the portfolio, each computed once: the kept projects whose rows
    differ on the two dates, with their columns on both; the milestones that moved; the
    phase periods that start or end in between. Python keeps the projects that differ
    and sorts the moves into them. A project whose milestones move or that enters a phase
    has rows that differ too: each of its events opens a new project row (`version`,
    docs/time.md), which `tests/integration/test_timeline_property.py` checks with the
    answers. The rows read and returned are those of the keys that change, not the
    portfolio's.
    """
    if end < start:
        raise BadInput("to must not be before from")
    after = sliced(end, None)
    p = _then_and_now(
        BITEMPORAL[projects],
        ("id",),
        ("title", "lab", "phase", "health", "status", "registered_position"),
        start,
        end,
    )
    candidates = (
        sa.select(
            p.c.id,
            sa.func.coalesce(p.c.now_title, p.c.was_title),
            sa.func.coalesce(p.c.now_lab, p.c.was_lab),
            p.c.was,
            p.c.was_phase,
            p.c.was_health,
            p.c.was_status,
            p.c.now,
            p.c.now_phase,
            p.c.now_health,
            p.c.now_status,
        )
        .where(
            # without a filter, the projects kept are those of either date: no list to test
            (p.c.was == 1) | (p.c.now == 1)
            if not project_conditions(query)
            else p.c.id.in_(project_ids(query, sliced(start, None)))
            | p.c.id.in_(project_ids(query, after))
        )
        .order_by(sa.func.coalesce(p.c.now_registered_position, p.c.was_registered_position))
    )
    # The moves of every project, filter or not: Python uses those of the projects kept only.
    m = _then_and_now(
        BITEMPORAL[milestones],
        ("project_id", "milestone_id"),
        ("title", "status", "due_on"),
        start,
        end,
    )
    milestone_moves = sa.select(
        m.c.project_id,
        m.c.milestone_id,
        m.c.now_title,
        m.c.now_status,
        m.c.now_due_on,
        m.c.was,
        m.c.was_status,
        m.c.was_due_on,
    ).where(
        m.c.now == 1,
        sa.or_(
            m.c.was.is_(None),
            (m.c.now_status == "achieved") & (m.c.was_status != "achieved"),
            (m.c.now_status == "cancelled") & (m.c.was_status != "cancelled"),
            m.c.now_due_on != m.c.was_due_on,
        ),
    )
    periods = after.phase_periods
    entering = (
        (periods.c.entered_on > start)
        & (periods.c.entered_on <= end)
        & periods.c.decision.is_distinct_from("start")
    )
    leaving = (periods.c.left_on > start) & (periods.c.left_on <= end)
    phase_moves = (
        sa.select(periods.c.project_id, periods.c.phase, entering, leaving)
        .where(entering | leaving)
        .order_by(periods.c.project_id, periods.c.seq)
    )
    with connected(bind) as connection:
        rows = connection.execute(candidates).all()
        if not rows:
            return Changes([])
        moves = connection.execute(milestone_moves).all()
        entered: dict[str, list[str]] = defaultdict(list)
        left: dict[str, list[str]] = defaultdict(list)
        for project_id, phase, entering_it, leaving_it in connection.execute(phase_moves):
            if entering_it:
                entered[project_id].append(phase)
            if leaving_it:
                left[project_id].append(phase)
    # Rows are unpacked, not read by attribute (a `Row` attribute costs a lookup by name:
    # a third of this loop's time at 2,000 projects).
    milestone_changes: dict[str, list[MilestoneChange]] = defaultdict(list)
    for project_id, milestone_id, title, status, due_on, was, was_status, was_due_on in sorted(
        moves, key=operator.itemgetter(0, 1)
    ):
        moved = _milestone_change(
            milestone_id, title, status, due_on, was is not None, was_status, was_due_on
        )
        if moved is not None:
            milestone_changes[project_id].append(moved)
    changes: list[ProjectChange] = []
    for (
        project_id,
        title,
        lab,
        was,
        was_phase,
        was_health,
        was_status,
        now,
        now_phase,
        now_health,
        now_status,
    ) in rows:
        opened, gone = was is None, now is None
        closed = not gone and now_status == "closed" and was_status != "closed"
        reopened = not opened and not gone and was_status == "closed" and now_status != "closed"
        if (
            opened
            or gone
            or closed
            or reopened
            or was_phase != now_phase
            or was_health != now_health
            or project_id in milestone_changes
            or project_id in entered
        ):
            changes.append(
                ProjectChange(
                    project_id=project_id,
                    title=title,
                    lab=lab,
                    opened=opened and not gone,
                    closed=closed,
                    reopened=reopened,
                    phase_before=was_phase,
                    phase_after=now_phase,
                    health_before=was_health,
                    health_after=now_health,
                    phases_entered=entered.get(project_id, []),
                    phases_left=left.get(project_id, []),
                    milestones=milestone_changes.get(project_id, []),
                )
            )
    return Changes(changes)


def _milestone_change(
    milestone_id: str,
    title: str,
    status: str,
    due_on: date,
    planned: bool,
    was_status: str | None,
    was_due_on: date | None,
) -> MilestoneChange | None:
    """The change of a milestone of the later slice from its row in the earlier one
    (`planned`: it had one; `was_…`: its values there)."""

    def line(change: str, days: int = 0) -> MilestoneChange:
        return MilestoneChange(milestone_id, title, change, days)

    if status == "achieved" and (not planned or was_status != "achieved"):
        return line("achieved")
    if status == "cancelled" and (not planned or was_status != "cancelled"):
        return line("cancelled")
    if not planned or was_due_on is None:
        return line("planned")
    moved = (due_on - was_due_on).days
    if moved > 0:
        return line("slipped", moved)
    if moved < 0:
        return line("brought_forward", moved)
    return None


def knowledge_changes(
    bind: Bind,
    start: datetime,
    end: datetime,
    up_to: date,
    first: int,
    project_id: str | None = None,
) -> list[RowMapping]:
    """The feed's events recorded in [start, end) about business dates up to `up_to`: what
    was learnt, late, about the past after a report written at `start`; one project's only
    when `project_id` is given."""
    check_first(first)
    f = activity_feed
    conditions = [
        f.c.recorded_at >= instant(start),
        f.c.recorded_at < instant(end),
        f.c.occurred_on <= up_to,
    ]
    if project_id is not None:
        conditions.append(f.c.project_id == project_id)
    with connected(bind) as connection:
        return list(
            connection.execute(
                sa.select(f).where(*conditions).order_by(f.c.position).limit(first)
            ).mappings()
        )


# -- the training programme ---------------------------------------------------------------


@dataclass(frozen=True)
class TrainingQuery:
    """Which training actions: by lab, format, mode, status, campaign, place (a commune's
    INSEE code), and a period that their sessions overlap (`starts_on` ≤ last session,
    first session ≤ `ends_on`)."""

    lab: str | None = None
    format: str | None = None
    mode: str | None = None
    status: str | None = None
    campaign: str | None = None
    place: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None


@dataclass(frozen=True)
class TrainingTables:
    """The training tables a read runs on: the live ones, or a time slice of their
    bitemporal twins (`training_sliced`), which have the same columns."""

    trainings: sa.FromClause
    training_attendance: sa.FromClause


TRAINING_LIVE = TrainingTables(trainings=trainings, training_attendance=training_attendance)


def training_sliced(on: date | None, known_at: datetime | None) -> TrainingTables:
    """The training tables on the business date `on` (None: the latest), as known at the
    instant `known_at` (None: now), as `sliced` cuts the project tables: subqueries of the
    training timeline's twins, named and shaped as the live tables."""

    def cut(table: sa.Table) -> sa.FromClause:
        twin = TRAINING_BITEMPORAL[table]
        conditions: list[Any] = []
        if known_at is None:
            conditions.append(twin.c.recorded_to == END_OF_TIME)
        else:
            moment = instant(known_at)
            conditions += [twin.c.recorded_to > moment, twin.c.recorded_from <= moment]
        if on is None:
            conditions.append(twin.c.valid_to == END_DATE)
        else:
            conditions += [twin.c.valid_to > on, twin.c.valid_from <= on]
        columns = [twin.c[c.name] for c in table.columns if c.name in twin.c]
        return sa.select(*columns).where(*conditions).subquery(table.name)

    return TrainingTables(trainings=cut(trainings), training_attendance=cut(training_attendance))


def training_conditions(
    query: TrainingQuery | None, tables: TrainingTables = TRAINING_LIVE
) -> list[Any]:
    """The filter's conditions on `rm_trainings` (or its slice)."""
    t = tables.trainings
    if query is None:
        return []
    conditions: list[Any] = []
    for column, value in (
        (t.c.lab, query.lab),
        (t.c.format, query.format),
        (t.c.mode, query.mode),
        (t.c.status, query.status),
        (t.c.campaign, query.campaign),
        (t.c.place_code, query.place),
    ):
        if value:
            conditions.append(column == value)
    if query.starts_on is not None:
        conditions.append(t.c.last_session_on >= query.starts_on)
    if query.ends_on is not None:
        conditions.append(t.c.first_session_on <= query.ends_on)
    return conditions


def training_page(
    bind: Bind,
    query: TrainingQuery | None,
    first: int,
    after: str | None,
    tables: TrainingTables = TRAINING_LIVE,
) -> Page:
    """Training actions by first session, then scheduling order: keyset-paged on both."""
    check_first(first)
    t = tables.trainings
    conditions = training_conditions(query, tables)
    statement = sa.select(t).where(*conditions)
    if after is not None:
        day, position = decode_cursor(after, 2)
        try:
            first_day = date.fromisoformat(day)
        except (TypeError, ValueError):
            raise BadInput(f"{after!r} is not a cursor this API gave") from None
        if not isinstance(position, int):
            raise BadInput(f"{after!r} is not a cursor this API gave")
        statement = statement.where(
            sa.tuple_(t.c.first_session_on, t.c.scheduled_position) > (first_day, position)
        )
    statement = statement.order_by(t.c.first_session_on, t.c.scheduled_position).limit(first + 1)
    with connected(bind) as connection:
        rows = list(connection.execute(statement).mappings())
        total = connection.scalar(sa.select(sa.func.count()).select_from(t).where(*conditions))
    return Page(rows[:first], len(rows) > first, int(total or 0))


def training_cursor(row: RowMapping) -> str:
    """The keyset cursor after `row` (for `training_page`'s `after`)."""
    return encode_cursor(row["first_session_on"], row["scheduled_position"])


def attendance_by_training(
    bind: Bind, ids: Sequence[str], tables: TrainingTables = TRAINING_LIVE
) -> dict[str, list[tuple[str, int]]]:
    """The attendance by audience of each of these actions (none until held)."""
    a = tables.training_attendance
    found: dict[str, list[tuple[str, int]]] = {i: [] for i in ids}
    if not ids:
        return found
    with connected(bind) as connection:
        for row in connection.execute(
            sa.select(a).where(a.c.training_id.in_(ids)).order_by(a.c.training_id, a.c.audience)
        ).mappings():
            found[row["training_id"]].append((row["audience"], int(row["attendance"])))
    return found


def training_page_with(
    bind: Bind,
    query: TrainingQuery | None,
    first: int,
    after: str | None,
    tables: TrainingTables = TRAINING_LIVE,
) -> tuple[Page, dict[str, list[tuple[str, int]]]]:
    """A page of actions and their attendance by audience, on one connection."""
    with connected(bind) as connection:
        page = training_page(connection, query, first, after, tables)
        ids = [r["id"] for r in page.rows]
        return page, attendance_by_training(connection, ids, tables)


@dataclass(frozen=True)
class ProgrammeGroup:
    """The actions of one lab, format, year, month, campaign…: how many in each status,
    and the agents trained (the attendance of those held)."""

    key: str
    scheduled: int
    held: int
    cancelled: int
    agents_trained: int

    @property
    def total(self) -> int:
        return self.scheduled + self.held + self.cancelled


@dataclass(frozen=True)
class Programme:
    """The roll-ups of a training programme (`trainingProgramme` in GraphQL)."""

    scheduled: int
    held: int
    cancelled: int
    agents_trained: int
    held_online: int
    by_format: list[ProgrammeGroup]
    by_mode: list[ProgrammeGroup]
    by_lab: list[ProgrammeGroup]
    by_year: list[ProgrammeGroup]
    by_month: list[ProgrammeGroup]
    by_campaign: list[ProgrammeGroup]
    by_place: list[ProgrammeGroup]  # by the commune an action is held in (none online)
    by_audience: list[tuple[str, int]]

    @property
    def online_share(self) -> float:
        """The share of the held actions that were held online (remote), 0 when none was."""
        return self.held_online / self.held if self.held else 0.0


def _programme_groups(
    connection: Connection,
    t: sa.FromClause,
    column: sa.ColumnElement[Any],
    conditions: list[Any],
) -> list[ProgrammeGroup]:
    held = t.c.status == "held"
    rows = connection.execute(
        sa.select(
            column,
            sa.func.count().filter(t.c.status == "scheduled"),
            sa.func.count().filter(held),
            sa.func.count().filter(t.c.status == "cancelled"),
            sa.func.coalesce(sa.func.sum(t.c.attendance).filter(held), 0),
        )
        .where(*conditions)
        .group_by(column)
        .order_by(column)
    )
    return [
        ProgrammeGroup(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]))
        for r in rows
        if r[0] is not None
    ]


def training_programme(
    bind: Bind, query: TrainingQuery | None, tables: TrainingTables = TRAINING_LIVE
) -> Programme:
    """Every roll-up of the filtered training actions, one statement per grouping: on the
    live tables, or on a time slice of their twins (`training_sliced`)."""
    t, a = tables.trainings, tables.training_attendance
    conditions = training_conditions(query, tables)
    held = t.c.status == "held"
    with connected(bind) as connection:
        figures = connection.execute(
            sa.select(
                sa.func.count().filter(t.c.status == "scheduled"),
                sa.func.count().filter(held),
                sa.func.count().filter(t.c.status == "cancelled"),
                sa.func.coalesce(sa.func.sum(t.c.attendance).filter(held), 0),
                sa.func.count().filter(held & (t.c.mode == "remote")),
            ).where(*conditions)
        ).one()
        kept = [a.c.training_id.in_(sa.select(t.c.id).where(*conditions))] if conditions else []
        by_audience = [
            (str(r[0]), int(r[1] or 0))
            for r in connection.execute(
                sa.select(a.c.audience, sa.func.sum(a.c.attendance))
                .where(*kept)
                .group_by(a.c.audience)
                .order_by(a.c.audience)
            )
        ]
        groups = [
            _programme_groups(connection, t, column, conditions)
            for column in (
                t.c.format,
                t.c.mode,
                t.c.lab,
                t.c.year,
                t.c.month,
                t.c.campaign,
                t.c.place_code,
            )
        ]
    return Programme(
        scheduled=int(figures[0]),
        held=int(figures[1]),
        cancelled=int(figures[2]),
        agents_trained=int(figures[3]),
        held_online=int(figures[4]),
        by_format=groups[0],
        by_mode=groups[1],
        by_lab=groups[2],
        by_year=groups[3],
        by_month=groups[4],
        by_campaign=groups[5],
        by_place=groups[6],
        by_audience=by_audience,
    )


@dataclass(frozen=True)
class TrainingChange:
    """One action's changes between two business dates (as known now)."""

    training_id: str
    title: str
    lab: str
    status_before: str | None  # None: not scheduled yet on the first date
    status_after: str
    scheduled: bool  # scheduled in between (absent on the first date)
    held: bool
    cancelled: bool
    rescheduled: bool  # its sessions moved in between (scheduled on both dates)
    first_session_before: date | None
    first_session_after: date
    agents_trained: int  # the attendance, when held in between


def training_changes(bind: Bind, lab: str | None, start: date, end: date) -> list[TrainingChange]:
    """The training actions (of `lab`, or all) scheduled, held, cancelled or rescheduled
    between the business dates `start` and `end`, as known now, in scheduling order.

    The comparison is the projects' (`portfolio_changes`): one statement groups the rows
    of the training timeline that change between the two dates by action, with their
    values on both dates (`_then_and_now`); Python keeps the actions that changed.
    """
    if end < start:
        raise BadInput("to must not be before from")
    twin = TRAINING_BITEMPORAL[trainings]
    t = _then_and_now(
        twin,
        ("id",),
        (
            "title",
            "lab",
            "status",
            "sessions",
            "first_session_on",
            "attendance",
            "scheduled_position",
        ),
        start,
        end,
        *([twin.c.lab == lab] if lab else []),
    )
    statement = (
        sa.select(
            t.c.id,
            t.c.now_title,
            t.c.now_lab,
            t.c.was,
            t.c.was_status,
            t.c.now_status,
            t.c.was_sessions,
            t.c.now_sessions,
            t.c.was_first_session_on,
            t.c.now_first_session_on,
            t.c.now_attendance,
        )
        .where(t.c.now == 1)
        .order_by(t.c.now_scheduled_position)
    )
    with connected(bind) as connection:
        rows = connection.execute(statement).all()
    changes: list[TrainingChange] = []
    for (
        training_id,
        title,
        lab_slug,
        was,
        status_before,
        status_after,
        sessions_before,
        sessions_after,
        first_session_before,
        first_session_after,
        attendance,
    ) in rows:
        scheduled = was is None
        held = status_after == "held" and status_before != "held"
        cancelled = status_after == "cancelled" and status_before != "cancelled"
        rescheduled = not scheduled and sessions_before != sessions_after
        if scheduled or held or cancelled or rescheduled:
            changes.append(
                TrainingChange(
                    training_id=training_id,
                    title=title,
                    lab=lab_slug,
                    status_before=status_before,
                    status_after=status_after,
                    scheduled=scheduled,
                    held=held,
                    cancelled=cancelled,
                    rescheduled=rescheduled,
                    first_session_before=first_session_before,
                    first_session_after=first_session_after,
                    agents_trained=int(attendance or 0) if held else 0,
                )
            )
    return changes


def campaign_names(bind: Bind, slugs: Collection[str]) -> dict[str, str]:
    """The names of the campaigns `slugs` (those registered), by slug."""
    if not slugs:
        return {}
    c = campaigns
    with connected(bind) as connection:
        found = connection.execute(sa.select(c.c.slug, c.c.name).where(c.c.slug.in_(sorted(slugs))))
        return {row.slug: row.name for row in found}


def campaign_by_slug(bind: Bind, slug: str) -> RowMapping | None:
    """One campaign's row, or None."""
    with connected(bind) as connection:
        return (
            connection.execute(sa.select(campaigns).where(campaigns.c.slug == slug))
            .mappings()
            .first()
        )
