"""The dashboard's « over time » panel: the projects' activities and the agents trained,
by quarter, up to the quarter of the date the page shows.

Its numbers are the dashboard query's (tracker/web/queries/dashboard.graphql):
`portfolio.activitiesByMonth` (the activities the filtered projects held, and their
participants) and `trainingProgramme.byMonth` (the training actions held and the agents
they trained, an action counting in its first session's month), both on the page's `on`
and `asKnownAt`; here they are only added up by quarter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tracker.web.charts import ColumnChart, column_chart
from tracker.web.rendering import number

# How many quarters the panel shows at most: three years.
QUARTERS_SHOWN = 12


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int  # 1 to 4
    activities: int = 0
    participants: int = 0
    held: int = 0  # training actions held
    agents: int = 0  # agents trained by them

    @property
    def key(self) -> str:
        return f"{self.year}-T{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        if self.number == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.number + 1, 1) - timedelta(days=1)


def _index(year: int, number: int) -> int:
    return year * 4 + number - 1


def _quarter_of(month: str) -> int:
    """`2024-05` as its quarter's index."""
    year, number = int(month[:4]), (int(month[5:7]) - 1) // 3 + 1
    return _index(year, number)


def quarters(
    activities_by_month: Sequence[Mapping[str, Any]],
    training_by_month: Sequence[Mapping[str, Any]],
    day: date,
) -> list[Quarter]:
    """The quarters from the first with a figure (at most QUARTERS_SHOWN before) to the
    quarter of `day`, each with its sums; none when no month has a figure."""
    sums: dict[int, list[int]] = {}
    for row in activities_by_month:
        found = sums.setdefault(_quarter_of(row["month"]), [0, 0, 0, 0])
        found[0] += row["activities"]
        found[1] += row["participants"]
    for row in training_by_month:
        found = sums.setdefault(_quarter_of(row["key"]), [0, 0, 0, 0])
        found[2] += row["held"]
        found[3] += row["agentsTrained"]
    last = _index(day.year, (day.month - 1) // 3 + 1)
    active = [index for index, values in sums.items() if index <= last and any(values)]
    if not active:
        return []
    first = max(min(active), last - QUARTERS_SHOWN + 1)
    return [
        Quarter(index // 4, index % 4 + 1, *sums.get(index, [0, 0, 0, 0]))
        for index in range(first, last + 1)
    ]


def over_time_chart(found: Sequence[Quarter]) -> ColumnChart:
    """Two panels over the quarters: the activities held, the agents trained; a quarter's
    label is « T1 », with its year under the first quarter of a year and the first shown."""
    return column_chart(
        [
            (f"T{q.number}", str(q.year)) if q.number == 1 or index == 0 else (f"T{q.number}",)
            for index, q in enumerate(found)
        ],
        [
            ([q.activities for q in found], [number(q.activities) for q in found]),
            ([q.agents for q in found], [number(q.agents) for q in found]),
        ],
    )


def over_time_values(
    data: Mapping[str, Any], filters: Mapping[str, str], day: date
) -> dict[str, Any]:
    """The panel's template values: the quarters and their chart, the filter of the
    training actions behind each quarter's training figures (the lab), and the project
    filters those actions do not follow (all but the lab)."""
    found = quarters(data["portfolio"]["activitiesByMonth"], data["training"]["byMonth"], day)
    total = Quarter(
        day.year,
        (day.month - 1) // 3 + 1,
        activities=sum(q.activities for q in found),
        participants=sum(q.participants for q in found),
        held=sum(q.held for q in found),
        agents=sum(q.agents for q in found),
    )
    return {
        "over_time": found,
        "over_time_chart": over_time_chart(found),
        "over_time_total": total,
        # The first quarter with the most of each (none when all are nought).
        "busiest_activities": max(found, key=lambda q: q.activities) if total.activities else None,
        "busiest_agents": max(found, key=lambda q: q.agents) if total.agents else None,
        "training_filter": {"lab": filters["lab"]} if "lab" in filters else {},
        "training_unfiltered": sorted(key for key in filters if key != "lab"),
    }
