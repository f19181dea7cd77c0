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
# The characters a bar's label holds in BAR_LABEL_WIDTH (the table beside has it whole).
LABEL_LENGTH = 30
# How far a cut may move to fall between two words.
WORD_EDGE = 6


def chart_label(value: str, length: int = LABEL_LENGTH) -> str:
    """A chart's label cut to `length` characters in the middle, at a word's edge (a space,
    or a hyphen) when one is near: names that share a long beginning (« Laboratoire
    d'innovation publique de … ») stay apart by their ends."""
    if len(value) <= length:
        return value
    cut = len(value) - (length - 1) // 2  # where the end kept would start
    edges = [
        index + 1
        for index in range(max(0, cut - WORD_EDGE), min(len(value), cut + WORD_EDGE))
        if value[index] in " -"
    ]
    if edges:  # the word start nearest the cut, a space's before a hyphen's
        cut = min(edges, key=lambda start: (abs(start - cut), value[start - 1] != " "))
    tail = value[cut:].lstrip()
    head = value[: length - 1 - len(tail)]
    space = head.rfind(" ", len(head) - WORD_EDGE)
    head = head[:space] if space > 0 else head
    return f"{head.rstrip()}…{tail}"


def distinct_labels(values: Sequence[str], length: int = LABEL_LENGTH) -> list[str]:
    """Each value's chart label (`chart_label`), told apart when two different values would
    be cut alike: those then lose the words they all begin with (« Laboratoire
    d'innovation publique de la Région Bourgogne-Franche-Comté » and « … de l'État en
    Bourgogne-Franche-Comté » become « …la Région…Franche-Comté » and « …l'État
    en…Franche-Comté »), and a number when even that is not enough."""
    labels = [chart_label(value, length) for value in values]
    alike: dict[str, set[str]] = {}
    for value, label in zip(values, labels, strict=True):
        alike.setdefault(label, set()).add(value)
    for label, group in alike.items():
        if len(group) < 2:
            continue
        prefix = _common_words(sorted(group))
        for index, value in enumerate(values):
            if labels[index] == label:
                labels[index] = "…" + chart_label(value[len(prefix) :], length - 1)
    seen: dict[str, int] = {}
    shown: dict[str, str] = {}
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        if value in shown:
            labels[index] = shown[value]
            continue
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[index] = f"{chart_label(label, length - 4)} ({seen[label]})"
        shown[value] = labels[index]
    return labels


def _common_words(values: Sequence[str]) -> str:
    """The whole words (up to a space) that every value begins with."""
    first, last = values[0], values[-1]  # sorted: their common beginning is everyone's
    common = 0
    while common < min(len(first), len(last)) and first[common] == last[common]:
        common += 1
    return first[: first.rfind(" ", 0, common + 1) + 1]


@dataclass(frozen=True)
class Bar:
    label: str
    short: str  # the label beside the bar, cut (the table and the bar's title hold it whole)
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
    """Bars for `(label, short label, value, href, shown)` rows, in the given order; the
    short labels are cut to fit beside the bars, and told apart (`distinct_labels`)."""
    largest = max((row[2] for row in rows), default=0) or 1
    span = BAR_CHART_WIDTH - BAR_LABEL_WIDTH - BAR_VALUE_ROOM
    shorts = distinct_labels([row[1] for row in rows])
    bars = tuple(
        Bar(
            label=label,
            short=cut,
            value=value,
            href=href,
            y=index * BAR_ROW_HEIGHT,
            width=max(1, round(span * value / largest)) if value else 0,
            shown=shown,
        )
        for index, ((label, _short, value, href, shown), cut) in enumerate(
            zip(rows, shorts, strict=True)
        )
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


COLUMN_CHART_WIDTH = 880
COLUMN_MARGIN = 10
COLUMN_TITLE_HEIGHT = 22  # a panel's title above its columns
COLUMN_VALUE_ROOM = 16  # above the tallest column, for its value
COLUMN_AREA_HEIGHT = 110
COLUMN_PANEL_GAP = 14
COLUMN_AXIS_HEIGHT = 34  # two lines of labels under the last panel
COLUMN_MAX_WIDTH = 44


@dataclass(frozen=True)
class Column:
    x: int
    y: int
    width: int
    height: int
    shown: str  # the value as the page prints it
    centre: int


@dataclass(frozen=True)
class Panel:
    """One series of a column chart, scaled to its own largest value (its title is the
    template's, in French)."""

    top: int  # where its title is written
    baseline: int  # the y of its columns' foot
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class AxisLabel:
    x: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class ColumnChart:
    """Series over the same periods, one panel each, stacked over one axis of periods."""

    panels: tuple[Panel, ...]
    axis: tuple[AxisLabel, ...]
    width: int
    height: int
    axis_top: int


def column_chart(
    periods: Sequence[tuple[str, ...]],
    series: Sequence[tuple[Sequence[int], Sequence[str]]],
) -> ColumnChart:
    """Columns for each `(values, shown)` series over `periods` (each the lines of its
    label under the axis), one panel per series."""
    count = max(1, len(periods))
    slot = (COLUMN_CHART_WIDTH - 2 * COLUMN_MARGIN) / count
    width = max(2, min(COLUMN_MAX_WIDTH, round(slot * 0.6)))
    panel_height = COLUMN_TITLE_HEIGHT + COLUMN_VALUE_ROOM + COLUMN_AREA_HEIGHT

    def centre(index: int) -> int:
        return round(COLUMN_MARGIN + slot * index + slot / 2)

    panels = []
    for number, (values, shown) in enumerate(series):
        top = number * (panel_height + COLUMN_PANEL_GAP)
        baseline = top + panel_height
        largest = max(values, default=0) or 1
        columns = []
        for index, (value, printed) in enumerate(zip(values, shown, strict=True)):
            height = max(1, round(COLUMN_AREA_HEIGHT * value / largest)) if value else 0
            columns.append(
                Column(
                    x=centre(index) - width // 2,
                    y=baseline - height,
                    width=width,
                    height=height,
                    shown=printed,
                    centre=centre(index),
                )
            )
        panels.append(Panel(top=top, baseline=baseline, columns=tuple(columns)))
    axis_top = len(panels) * panel_height + max(0, len(panels) - 1) * COLUMN_PANEL_GAP
    return ColumnChart(
        panels=tuple(panels),
        axis=tuple(AxisLabel(x=centre(i), lines=lines) for i, lines in enumerate(periods)),
        width=COLUMN_CHART_WIDTH,
        height=axis_top + COLUMN_AXIS_HEIGHT,
        axis_top=axis_top,
    )
