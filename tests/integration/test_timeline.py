"""The timeline on the worked example of docs/time.md, and its agreement with the live
read models and the aggregate, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import eventsourcing.domain
import pytest
import sqlalchemy as sa

from domain.values import GateDecision, Health, Phase
from projections import queries
from projections.portfolio import PortfolioProjection
from projections.reading import read_engine
from projections.runner import ProjectionWorker, rebuild_all
from projections.timeline import TimelineProjection
from tests.factories import registered_lab
from tracker.application.commands import (
    AssessHealth,
    Command,
    EnterPhase,
    RegisterProject,
    ReviseProject,
)
from tracker.application.services import Services
from tracker.audit.history import project_on
from tracker.config.settings import Settings
from tracker.schema.read_models import projects_bt, projects_counted_bt
from tracker.store import migrate


class Example:
    """The project of docs/time.md's worked example."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.application = services.application
        self.project_id = uuid.uuid4()
        self.send(
            RegisterProject(
                lab=registered_lab(self.application),
                title="Projet",
                summary="",
                themes=[],
                territories=[],
                started_on=date(2025, 9, 1),
                project_id=self.project_id,
            ),
            date(2025, 10, 6),  # entered later than it started
        )
        self.send(
            EnterPhase(project_id=self.project_id, phase=Phase.DISCOVERY, decision=GateDecision.GO),
            date(2025, 10, 6),
        )
        self.send(self.health(Health.AT_RISK, "retard du prestataire"), date(2025, 11, 3))
        self.before_correction = datetime.now(UTC)
        self.send(self.health(Health.OFF_TRACK, "constat du comité"), date(2025, 10, 20))
        for projection in (PortfolioProjection, TimelineProjection):
            ProjectionWorker(services, projection).run_until_caught_up()

    def health(self, health: Health, reason: str) -> AssessHealth:
        return AssessHealth(project_id=self.project_id, health=health, reason=reason)

    def send(self, command: Command, on: date) -> None:
        self.application.execute(command, self.application.meta("t", "c", on))

    def row(self, on: date | None, known_at: datetime | None = None) -> sa.RowMapping | None:
        (row,) = queries.projects_by_id(
            read_engine(self.services), [str(self.project_id)], queries.sliced(on, known_at)
        )
        return row


def test_a_project_entered_late_is_in_the_portfolio_from_its_start(services: Services) -> None:
    example = Example(services)
    row = example.row(date(2025, 9, 15))
    assert row is not None
    assert (row.phase, row.health) == ("framing", "on_track")
    assert example.row(date(2025, 8, 31)) is None


def test_a_late_logged_assessment_changes_past_dates_from_now_on(services: Services) -> None:
    example = Example(services)
    row = example.row(date(2025, 10, 25))
    assert row is not None
    assert (row.phase, row.health) == ("discovery", "off_track")


def test_as_known_before_the_correction_the_past_date_shows_what_was_known(
    services: Services,
) -> None:
    example = Example(services)
    row = example.row(date(2025, 10, 25), example.before_correction)
    assert row is not None
    assert row.health == "on_track"


def test_a_late_logged_older_assessment_does_not_replace_a_later_one(services: Services) -> None:
    example = Example(services)
    timeline = example.row(date(2025, 11, 10))
    live = queries.projects_by_id(read_engine(services), [str(example.project_id)])[0]
    aggregate = example.application.get_project(example.project_id)
    assert timeline is not None
    assert live is not None
    assert timeline.health == live.health == aggregate.health.value == "at_risk"


def test_the_timeline_now_equals_the_live_read_model(services: Services) -> None:
    example = Example(services)
    live = queries.projects_by_id(read_engine(services), [str(example.project_id)])[0]
    assert dict(example.row(None) or {}) == dict(live or {})


def test_the_rest_state_on_a_date_as_known_at_an_instant_is_the_filtered_replay(
    services: Services,
) -> None:
    example = Example(services)
    now = project_on(example.application, example.project_id, date(2025, 10, 25))
    then = project_on(
        example.application, example.project_id, date(2025, 10, 25), example.before_correction
    )
    assert (now.health, then.health) == (Health.OFF_TRACK, Health.ON_TRACK)


def test_a_rebuild_fed_by_the_portfolio_writes_what_the_live_timeline_wrote(
    services: Services,
) -> None:
    # The live timeline replays the portfolio's handlers; a rebuild of both hands it the
    # portfolio's own rows, one batch or several (loaded back, partitions replaced unseen).
    example = Example(services)
    example.send(
        ReviseProject(project_id=example.project_id, themes=["santé", "culture"]),
        date(2025, 11, 10),
    )
    example.send(example.health(Health.ON_TRACK, "rattrapé"), date(2025, 11, 12))
    example.send(
        ReviseProject(project_id=example.project_id, themes=["culture"]), date(2025, 11, 14)
    )
    example.send(example.health(Health.AT_RISK, "oubli"), date(2025, 11, 1))  # logged late
    example.send(ReviseProject(project_id=example.project_id, themes=[]), date(2025, 11, 20))
    for projection in (PortfolioProjection, TimelineProjection):
        ProjectionWorker(services, projection).run_until_caught_up()
    for batch_size in (1, 2, 3, None):
        results = rebuild_all(
            services, (PortfolioProjection, TimelineProjection), check=True, batch_size=batch_size
        )
        assert [d.describe() for r in results for d in r.differences] == [], batch_size


def counted_rows(services: Services) -> set[tuple[object, ...]]:
    t = projects_counted_bt
    with read_engine(services).connect() as connection:
        return {
            tuple(
                v.replace(tzinfo=v.tzinfo or UTC).astimezone(UTC) if isinstance(v, datetime) else v
                for v in row
            )
            for row in connection.execute(sa.select(t))
        }


def test_the_migration_derives_the_counted_runs_the_projector_kept(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url=empty_database_url)
    migrate.upgrade(settings)
    services = Services.open(settings)
    try:
        example = Example(services)  # a late-logged assessment among them
        example.send(
            EnterPhase(
                project_id=example.project_id, phase=Phase.IDEATION, decision=GateDecision.GO
            ),
            date(2025, 11, 10),
        )
        example.send(example.health(Health.ON_TRACK, "rattrapé"), date(2025, 11, 12))
        example.send(
            ReviseProject(project_id=example.project_id, themes=["santé"]), date(2025, 11, 14)
        )
        example.send(example.health(Health.AT_RISK, "oubli"), date(2025, 11, 11))  # logged late
        # Two events stamped alike: the first ends the last run and opens one, the second
        # ends that one and brings the last run back (reopened, the other dropped).
        stamp = datetime.now(UTC)
        monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: stamp)
        example.send(example.health(Health.OFF_TRACK, "alerte"), date(2025, 11, 20))
        example.send(example.health(Health.ON_TRACK, "fausse alerte"), date(2025, 11, 20))
        monkeypatch.undo()
        for projection in (PortfolioProjection, TimelineProjection):
            ProjectionWorker(services, projection).run_until_caught_up()
        kept = counted_rows(services)
        rebuilt = rebuild_all(
            services, (PortfolioProjection, TimelineProjection), check=True, batch_size=1
        )
        assert [d.describe() for r in rebuilt for d in r.differences] == []
        with read_engine(services).connect() as connection:
            versions = connection.scalar(sa.select(sa.func.count()).select_from(projects_bt))
        migrate.downgrade(settings, "0015_portfolio_counts")
        migrate.upgrade(settings)
        filled = counted_rows(services)
    finally:
        services.close()

    assert filled == kept
    # A run ends when a counted column changes, not at every event.
    assert len(kept) < int(versions or 0)


def test_the_live_timeline_keeps_its_replays_between_batches_and_writes_what_a_rebuild_does(
    services: Services,
) -> None:
    # One live worker, one event a batch: from the second on, each batch starts from the
    # replay the previous one kept; the late-logged event reads the history it skipped.
    example = Example(services)
    portfolio = ProjectionWorker(services, PortfolioProjection, batch_size=1)
    timeline = ProjectionWorker(services, TimelineProjection, batch_size=1)
    commands = [
        (ReviseProject(project_id=example.project_id, themes=["santé"]), date(2025, 11, 10)),
        (example.health(Health.ON_TRACK, "rattrapé"), date(2025, 11, 12)),
        (example.health(Health.AT_RISK, "oubli"), date(2025, 11, 1)),  # logged late
        (ReviseProject(project_id=example.project_id, themes=[]), date(2025, 11, 20)),
    ]
    for command, on in commands:
        example.send(command, on)
        assert portfolio.run_until_caught_up() == 1
        assert timeline.run_until_caught_up() == 1
    kept = timeline.projection.kept  # type: ignore[attr-defined]
    assert kept[str(example.project_id)][0] == 8  # the project's version after the four
    results = rebuild_all(services, (PortfolioProjection, TimelineProjection), check=True)
    assert [d.describe() for r in results for d in r.differences] == []
    row = example.row(date(2025, 11, 5))
    assert row is not None
    assert row.health == "at_risk"
