"""Read-model tables and the projections' tracking positions.

Every table here is filled from events only (never by a command), so any of them can be
dropped and rebuilt from the log (`tracker projections rebuild`). Each value is derived
from event data alone (business dates, recording times, positions): never from a clock,
so that a rebuild reproduces the live tables row for row. "Overdue" depends on today and
is therefore never stored: queries compute it from `due_on` and `status`.

The tables are grouped by the projection that owns them (`PORTFOLIO_TABLES`,
`ACTIVITY_TABLES`, `TRAINING_TABLES`): a projection writes its own tables only, so each can
be rebuilt alone and a lagging one never blocks the others.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.schema.metadata import metadata

ID = sa.String(100)
LAB = sa.String(64)
TITLE = sa.String(200)
TIMESTAMP = sa.DateTime(timezone=True)

projection_tracking = sa.Table(
    "projection_tracking",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    # The global position (notification id) of the last event applied, ignored ones included.
    sa.Column("position", sa.BigInteger, nullable=False),
    # When that event was recorded: lag in seconds is measured from the next one's time.
    sa.Column("event_recorded_at", TIMESTAMP),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

# -- the "portfolio" projection ------------------------------------------------------------

labs = sa.Table(
    "rm_labs",
    metadata,
    sa.Column("slug", LAB, primary_key=True),
    sa.Column("name", TITLE, nullable=False),
    sa.Column("region_code", sa.String(3), nullable=False),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("registered_position", sa.BigInteger, nullable=False),
)

projects = sa.Table(
    "rm_projects",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("lab", LAB, nullable=False, index=True),
    sa.Column("title", TITLE, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("phase", sa.String(32), nullable=False, index=True),
    sa.Column("phase_since", sa.Date, nullable=False),
    sa.Column("health", sa.String(16), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("outcome", sa.String(16)),
    sa.Column("themes", sa.JSON, nullable=False),
    sa.Column("territories", sa.JSON, nullable=False),
    sa.Column("started_on", sa.Date, nullable=False),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("closed_on", sa.Date),
    sa.Column("milestones_planned", sa.Integer, nullable=False),
    sa.Column("milestones_open", sa.Integer, nullable=False),
    sa.Column("milestones_achieved", sa.Integer, nullable=False),
    sa.Column("milestones_cancelled", sa.Integer, nullable=False),
    sa.Column("activities", sa.Integer, nullable=False),
    sa.Column("participants", sa.Integer, nullable=False),
    sa.Column("partners", sa.Integer, nullable=False),
    sa.Column("decisions", sa.Integer, nullable=False),
    sa.Column("funding_cents", sa.BigInteger, nullable=False),
    sa.Column("next_milestone_id", ID),
    sa.Column("next_milestone_due_on", sa.Date),
    sa.Column("last_activity_on", sa.Date),
    sa.Column("version", sa.Integer, nullable=False),
    # The business date of the current health assessment (None before the first): an
    # assessment logged late replaces it only if dated on or after it (docs/time.md).
    sa.Column("health_on", sa.Date),
    # The keyset for paging: registration order, unique and stable.
    sa.Column("registered_position", sa.BigInteger, nullable=False, unique=True),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

project_themes = sa.Table(
    "rm_project_themes",
    metadata,
    sa.Column("project_id", ID, primary_key=True),
    sa.Column("theme", sa.String(100), primary_key=True, index=True),
)

project_territories = sa.Table(
    "rm_project_territories",
    metadata,
    sa.Column("project_id", ID, primary_key=True),
    sa.Column("level", sa.String(16), primary_key=True),
    sa.Column("code", sa.String(9), primary_key=True, index=True),
    sa.Column("cog_year", sa.Integer, nullable=False),
    # The department a commune lies in (or the department itself): a department code
    # then matches its communes with one indexed comparison.
    sa.Column("department", sa.String(3), index=True),
)

milestones = sa.Table(
    "rm_milestones",
    metadata,
    sa.Column("project_id", ID, primary_key=True),
    sa.Column("milestone_id", ID, primary_key=True),
    sa.Column("lab", LAB, nullable=False, index=True),
    sa.Column("title", TITLE, nullable=False),
    sa.Column("phase", sa.String(32), nullable=False),
    sa.Column("due_on", sa.Date, nullable=False, index=True),
    sa.Column("original_due_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("achieved_on", sa.Date),
    sa.Column("planned_on", sa.Date, nullable=False),
    sa.Column("reschedules", sa.Integer, nullable=False),
    sa.Column("days_slipped", sa.Integer, nullable=False),
)
# The milestone dashboards (overdue, due soon: `status = 'planned'` and a range of `due_on`,
# ordered by due date, project and id) read this index in order and stop at the page's end;
# their counts read it alone (migration 0007). Named by the convention:
# ix_rm_milestones_status_due_on_project_id_milestone_id. `_column_flag` makes
# `Table.to_metadata` skip it, as it skips the `index=True` ones (their copies are made by
# the columns): a rebuild's shadow table (projections/runner.py `shadow_tables`) would
# otherwise get an index of the same name, which both databases refuse; the shadow, only
# replayed into and copied from, does not need it.
sa.Index(
    None,
    milestones.c.status,
    milestones.c.due_on,
    milestones.c.project_id,
    milestones.c.milestone_id,
    _column_flag=True,
)

phase_periods = sa.Table(
    "rm_phase_periods",
    metadata,
    sa.Column("project_id", ID, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("phase", sa.String(32), nullable=False, index=True),
    sa.Column("entered_on", sa.Date, nullable=False),
    # None while the project is in this phase; closing a project ends its period.
    sa.Column("left_on", sa.Date),
    sa.Column("decision", sa.String(16), nullable=False),
)

activities = sa.Table(
    "rm_activities",
    metadata,
    sa.Column("project_id", ID, primary_key=True),
    sa.Column("activity_id", ID, primary_key=True),
    sa.Column("lab", LAB, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("title", TITLE, nullable=False),
    sa.Column("held_on", sa.Date, nullable=False),
    sa.Column("month", sa.String(7), nullable=False, index=True),
    sa.Column("participants", sa.Integer, nullable=False),
    # in_person, remote, hybrid; None when it was not recorded (ActivityLogged v1).
    sa.Column("mode", sa.String(16)),
)

funding = sa.Table(
    "rm_funding",
    metadata,
    sa.Column("project_id", ID, primary_key=True),
    sa.Column("source", TITLE, primary_key=True),
    sa.Column("fiscal_year", sa.Integer, primary_key=True, index=True),
    sa.Column("lab", LAB, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("commitments", sa.Integer, nullable=False),
)

indicators = sa.Table(
    "rm_indicators",
    metadata,
    sa.Column("project_id", ID, primary_key=True),
    sa.Column("indicator_id", ID, primary_key=True),
    sa.Column("name", TITLE, nullable=False),
    sa.Column("unit", sa.String(50), nullable=False),
    sa.Column("baseline", sa.Float, nullable=False),
    sa.Column("target", sa.Float, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("measured_on", sa.Date),
    sa.Column("measurements", sa.Integer, nullable=False),
)

# -- the "activity" projection -----------------------------------------------------------

activity_feed = sa.Table(
    "rm_activity_feed",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("project_id", ID, index=True),
    sa.Column("lab", LAB, index=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("occurred_on", sa.Date, nullable=False),
    sa.Column("recorded_at", TIMESTAMP, nullable=False, index=True),
    sa.Column("summary", sa.Text, nullable=False),
)

# The names the feed's summaries quote (projects, milestones, partners, indicators), kept
# by the activity projection itself so that it never reads another projection's tables.
feed_names = sa.Table(
    "rm_feed_names",
    metadata,
    sa.Column("key", sa.String(210), primary_key=True),
    sa.Column("label", TITLE, nullable=False),
    sa.Column("lab", LAB),
)

# The unfiltered portfolio's roll-ups, kept by the portfolio projection as it changes the
# rows above, so that the dashboards' overview reads a few hundred rows instead of every
# project's (docs/benchmarks.md "The portfolio's roll-ups"). One row per counted key:
# `dimension` names the roll-up (phase, health, status, lab, theme, territory, due — a
# planned milestone by due date —, slipped, achieved, month, year), `key` the value counted
# (a date or a year as ISO text), `detail` the territory's level (else ''). `counted` is the
# number of rows counted (projects, milestones, activities, funding lines), `amount` what
# they add up (participants, cents). A key whose count falls to 0 keeps its row (read
# with `counted > 0`): no row of it is left to count.
portfolio_counts = sa.Table(
    "rm_portfolio_counts",
    metadata,
    sa.Column("dimension", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("detail", sa.String(16), primary_key=True),
    sa.Column("counted", sa.Integer, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
)

PORTFOLIO_TABLES: tuple[sa.Table, ...] = (
    labs,
    projects,
    project_themes,
    project_territories,
    milestones,
    phase_periods,
    activities,
    funding,
    indicators,
    portfolio_counts,
)
ACTIVITY_TABLES: tuple[sa.Table, ...] = (activity_feed, feed_names)

# -- the "training" projection (the labs' training programme and campaigns) ----------------

campaigns = sa.Table(
    "rm_campaigns",
    metadata,
    sa.Column("slug", LAB, primary_key=True),
    sa.Column("name", TITLE, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("theme", sa.String(500), nullable=False),
    sa.Column("organiser", TITLE, nullable=False),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("registered_position", sa.BigInteger, nullable=False),
)

trainings = sa.Table(
    "rm_trainings",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("lab", LAB, nullable=False, index=True),
    sa.Column("title", TITLE, nullable=False),
    sa.Column("format", sa.String(32), nullable=False, index=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    # An action counts in the year and month of its first session (docs/training.md).
    sa.Column("first_session_on", sa.Date, nullable=False, index=True),
    sa.Column("last_session_on", sa.Date, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("sessions", sa.JSON, nullable=False),
    sa.Column("place_code", sa.String(9)),
    sa.Column("place_cog_year", sa.Integer),
    sa.Column("partners", sa.JSON, nullable=False),
    sa.Column("registration_ref", sa.String(100)),
    sa.Column("audiences", sa.JSON, nullable=False),
    sa.Column("capacity", sa.Integer),
    sa.Column("project_ids", sa.JSON, nullable=False),
    sa.Column("campaign", LAB, index=True),
    # The agents who attended (None until held); by audience in rm_training_attendance.
    sa.Column("attendance", sa.Integer),
    sa.Column("reschedules", sa.Integer, nullable=False),
    sa.Column("scheduled_on", sa.Date, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # With first_session_on, the keyset for paging: unique and stable.
    sa.Column("scheduled_position", sa.BigInteger, nullable=False, unique=True),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)

training_attendance = sa.Table(
    "rm_training_attendance",
    metadata,
    sa.Column("training_id", ID, primary_key=True),
    sa.Column("audience", sa.String(16), primary_key=True),
    sa.Column("attendance", sa.Integer, nullable=False),
)

TRAINING_TABLES: tuple[sa.Table, ...] = (campaigns, trainings, training_attendance)
# -- the "timeline" projection: the portfolio's rows on both time axes ----------------------
#
# For each project table of the portfolio, a bitemporal twin (`<table>_bt`): the same
# columns, and four more saying when the row holds. A row is the live projection's row as
# a replay of the project's events dated on or before D, recorded by T, would write it, for
# every business date D in [valid_from, valid_to) and every instant T in
# [recorded_from, recorded_to). Open ends are the sentinels `END_OF_TIME` / `END_DATE`
# (not NULL), so that "as known now" and "on D" are plain indexed comparisons
# (docs/time.md).

TIME_COLUMNS = ("valid_from", "valid_to", "recorded_from", "recorded_to")
# The columns a twin's slice index carries after the time columns: those the portfolio's
# roll-ups read and filter on, so that each reads the index alone (migration 0013).
SLICE_COVERS = {
    "rm_projects": ("phase", "health", "status", "lab", "id"),
    "rm_project_themes": ("theme", "project_id"),
    "rm_project_territories": ("code", "level", "department", "project_id"),
    "rm_milestones": ("status", "due_on", "days_slipped", "project_id"),
    "rm_activities": ("month", "participants", "project_id"),
    "rm_funding": ("fiscal_year", "amount_cents", "project_id"),
}


def _bitemporal(table: sa.Table) -> sa.Table:
    keys = [c.name for c in table.primary_key.columns]
    twin = sa.Table(
        f"{table.name}_bt",
        metadata,
        *(
            sa.Column(c.name, c.type, nullable=c.nullable, primary_key=c.name in keys)
            for c in table.columns
        ),
        sa.Column("valid_from", sa.Date, primary_key=True),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("recorded_from", TIMESTAMP, primary_key=True),
        sa.Column("recorded_to", TIMESTAMP, nullable=False),
    )
    # The slice's index (migration 0013): "on D, as known now" seeks recorded_to = the
    # sentinel and valid_to > D, "as known at T" recorded_to > T; the other bounds
    # (valid_from, recorded_from) are then checked on the index entries, so that only the
    # rows of the slice are read from the table; the portfolio's roll-ups read it alone
    # (`SLICE_COVERS`, docs/time.md "Cost").
    sa.Index(
        f"ix_{twin.name}_slice",
        twin.c.recorded_to,
        twin.c.valid_to,
        twin.c.valid_from,
        twin.c.recorded_from,
        *(twin.c[name] for name in SLICE_COVERS.get(table.name, ())),
        _column_flag=True,
    )
    return twin


projects_bt = _bitemporal(projects)
project_themes_bt = _bitemporal(project_themes)
project_territories_bt = _bitemporal(project_territories)
milestones_bt = _bitemporal(milestones)
phase_periods_bt = _bitemporal(phase_periods)
activities_bt = _bitemporal(activities)
funding_bt = _bitemporal(funding)
indicators_bt = _bitemporal(indicators)

# Each portfolio table with a project's rows, and its twin.
BITEMPORAL: dict[sa.Table, sa.Table] = {
    projects: projects_bt,
    project_themes: project_themes_bt,
    project_territories: project_territories_bt,
    milestones: milestones_bt,
    phase_periods: phase_periods_bt,
    activities: activities_bt,
    funding: funding_bt,
    indicators: indicators_bt,
}

# The projects' counted columns alone, on both time axes (migration 0016): what a time
# slice's portfolio counts (total, by phase, health, status and lab) and filters on. A row
# holds a maximal run of equal values over business dates within one knowledge, and stays
# open as long as later knowledge keeps that run: a project's run ends when one of these
# columns changes, not at every event as in `rm_projects_bt` (whose `version` and
# `updated_at` change each time), so a slice reads a few rows per project instead of
# dozens (docs/time.md "Cost").
COUNTED_PROJECT_COLUMNS = ("lab", "phase", "health", "status")
projects_counted_bt = sa.Table(
    "rm_projects_counted_bt",
    metadata,
    sa.Column("id", ID, primary_key=True),
    *(sa.Column(name, projects.c[name].type, nullable=False) for name in COUNTED_PROJECT_COLUMNS),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("valid_to", sa.Date, nullable=False),
    sa.Column("recorded_from", TIMESTAMP, primary_key=True),
    sa.Column("recorded_to", TIMESTAMP, nullable=False),
)
sa.Index(
    "ix_rm_projects_counted_bt_slice",
    projects_counted_bt.c.recorded_to,
    projects_counted_bt.c.valid_to,
    projects_counted_bt.c.valid_from,
    projects_counted_bt.c.recorded_from,
    projects_counted_bt.c.phase,
    projects_counted_bt.c.health,
    projects_counted_bt.c.status,
    projects_counted_bt.c.lab,
    projects_counted_bt.c.id,
    _column_flag=True,  # as the milestones' index above: no copy on a rebuild's shadow
)
TIMELINE_TABLES: tuple[sa.Table, ...] = (*BITEMPORAL.values(), projects_counted_bt)

# -- the "training_timeline" projection: the training programme on both time axes ------------
#
# The same twins for the training projection's tables of an action (campaigns never change:
# temporal questions read the live `rm_campaigns`), filled by projections/training_timeline.py.

trainings_bt = _bitemporal(trainings)
training_attendance_bt = _bitemporal(training_attendance)

TRAINING_BITEMPORAL: dict[sa.Table, sa.Table] = {
    trainings: trainings_bt,
    training_attendance: training_attendance_bt,
}
TRAINING_TIMELINE_TABLES: tuple[sa.Table, ...] = tuple(TRAINING_BITEMPORAL.values())
