"""Charts drawn on the server: geometry computed here, drawn as SVG by the templates'
macros (tracker/web/templates/macros.html), each beside a table of the same numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

BAR_CHART_WIDTH = 640
BAR_LABEL_WIDTH = 220
BAR_ROW_HEIGHT = 26
BAR_THICKNESS = 18
# Room on the right of the longest bar for its value.
BAR_VALUE_ROOM = 60


@dataclass(frozen=True)
class Bar:
    label: str
    short: str  # the label beside the bar (the table holds the whole one)
    value: int
    href: str | None
    y: int
    width: int
    shown: str  # the value as the page prints it


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per row, scaled to the largest value."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int
    thickness: int

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


def bar_chart(rows: Sequence[tuple[str, str, int, str | None, str]]) -> BarChart:
    """Bars for `(label, short label, value, href, shown)` rows, in the given order."""
    largest = max((row[2] for row in rows), default=0) or 1
    span = BAR_CHART_WIDTH - BAR_LABEL_WIDTH - BAR_VALUE_ROOM
    bars = tuple(
        Bar(
            label=label,
            short=short,
            value=value,
            href=href,
            y=index * BAR_ROW_HEIGHT,
            width=max(1, round(span * value / largest)) if value else 0,
            shown=shown,
        )
        for index, (label, short, value, href, shown) in enumerate(rows)
    )
    return BarChart(
        bars=bars,
        width=BAR_CHART_WIDTH,
        height=max(BAR_ROW_HEIGHT, BAR_ROW_HEIGHT * len(bars)),
        label_width=BAR_LABEL_WIDTH,
        thickness=BAR_THICKNESS,
    )


TIMELINE_WIDTH = 880
TIMELINE_LABEL_WIDTH = 240
TIMELINE_ROW_HEIGHT = 26
TIMELINE_AXIS_HEIGHT = 24


@dataclass(frozen=True)
class Span:
    """One row of a timeline: a bar from `x` to `x + width` (a phase's stay), or a slip
    from its first planned date (`x`) to its current one (`x + width`: a milestone)."""

    label: str
    kind: str  # "phase", "milestone"
    y: int
    x: int
    width: int
    css: str  # a class of tracker.css: the phase, or the milestone's status


@dataclass(frozen=True)
class Tick:
    x: int
    label: str


@dataclass(frozen=True)
class Timeline:
    spans: tuple[Span, ...]
    ticks: tuple[Tick, ...]
    width: int
    height: int
    label_width: int
    row_height: int
    axis_height: int
    today_x: int | None


@dataclass(frozen=True)
class TimelineRow:
    label: str
    kind: str
    start: date
    end: date
    css: str


def timeline(rows: Sequence[TimelineRow], today: date) -> Timeline:
    """A time axis over every row's dates (and today), with one tick per year."""
    starts = [row.start for row in rows] or [today]
    ends = [row.end for row in rows] or [today]
    first = min([*starts, *ends])
    last = max([*starts, *ends, today])
    first = date(first.year, 1, 1)
    last = date(last.year + 1, 1, 1)
    days = max(1, (last - first).days)
    span = TIMELINE_WIDTH - TIMELINE_LABEL_WIDTH - 10

    def x(moment: date) -> int:
        return TIMELINE_LABEL_WIDTH + round(span * (moment - first).days / days)

    spans = tuple(
        Span(
            label=row.label,
            kind=row.kind,
            y=TIMELINE_AXIS_HEIGHT + index * TIMELINE_ROW_HEIGHT,
            x=x(min(row.start, row.end)),
            width=abs(x(row.end) - x(row.start)),
            css=row.css,
        )
        for index, row in enumerate(rows)
    )
    ticks = tuple(
        Tick(x=x(date(year, 1, 1)), label=str(year)) for year in range(first.year, last.year)
    )
    return Timeline(
        spans=spans,
        ticks=ticks,
        width=TIMELINE_WIDTH,
        height=TIMELINE_AXIS_HEIGHT + TIMELINE_ROW_HEIGHT * max(1, len(spans)),
        label_width=TIMELINE_LABEL_WIDTH,
        row_height=TIMELINE_ROW_HEIGHT,
        axis_height=TIMELINE_AXIS_HEIGHT,
        today_x=x(today) if first <= today <= last else None,
    )
