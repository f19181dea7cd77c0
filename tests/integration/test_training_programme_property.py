"""Property: the training programme's roll-ups equal a recount from the aggregates.

Hypothesis draws training actions in two labs, each then held, cancelled or rescheduled
(or refused by the domain, and left as it is); they are saved through the application, the
projections catch up, and every roll-up of `trainingProgramme` (projections/queries.py
`training_programme`) is compared with the same figure counted from the aggregates loaded
back from the store. The actions of one example share a campaign slug of their own, which
is the filter that keeps them apart from other tests' rows.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.training import TrainingAction
from domain.values import ActivityMode, Audience, Territory, TrainingFormat, TrainingStatus
from projections.queries import ProgrammeGroup, TrainingQuery, training_programme
from projections.reading import read_engine
from projections.runner import PROJECTIONS, ProjectionWorker
from tests.factories import meta
from tracker.application.services import Services

BASE = date(2019, 1, 1)
TODAY = date(2026, 6, 15)
DIJON = Territory("commune", "21231", 2020)

day = st.integers(min_value=0, max_value=2500).map(lambda n: BASE + timedelta(days=n))
outcome = st.one_of(
    st.tuples(st.just("none")),
    st.tuples(
        st.just("hold"),
        st.integers(0, 60),
        st.dictionaries(st.sampled_from(list(Audience)), st.integers(0, 30), max_size=3),
    ),
    st.tuples(st.just("cancel")),
    st.tuples(st.just("reschedule"), day),
)
action = st.tuples(
    st.integers(0, 1),
    st.sampled_from(list(TrainingFormat)),
    st.sampled_from(list(ActivityMode)),
    day,
    st.integers(1, 3),
    st.lists(outcome, max_size=3),
)


def build(lab: str, campaign: str, drawn: tuple[Any, ...]) -> TrainingAction:
    _, format_, mode, first, sessions, outcomes = drawn
    m = meta(today=TODAY)
    training = TrainingAction.schedule(
        lab=lab,
        title="Atelier",
        format=format_,
        session_dates=[first + timedelta(days=i) for i in range(sessions)],
        mode=mode,
        meta=m,
        place=None if mode is ActivityMode.REMOTE else DIJON,
        audiences=[a.value for a in Audience],
        capacity=40,
        campaign=campaign,
    )
    for step in outcomes:
        try:
            if step[0] == "hold":
                training.hold(step[1], m, {a.value: n for a, n in step[2].items()}, "complet")
            elif step[0] == "cancel":
                training.cancel(m, "annulé")
            elif step[0] == "reschedule":
                training.reschedule([step[1]], m, "report")
        except DomainError:
            pass
    return training


def recount(actions: list[TrainingAction], key: Any) -> list[ProgrammeGroup]:
    """The groups `training_programme` gives, counted from the aggregates."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for a in actions:
        group = counts[str(key(a))]
        group[a.status] += 1
        group["agents"] += a.attendance or 0
    return [
        ProgrammeGroup(
            k,
            c[TrainingStatus.SCHEDULED.value],
            c[TrainingStatus.HELD.value],
            c[TrainingStatus.CANCELLED.value],
            c["agents"],
        )
        for k, c in sorted(counts.items())
    ]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=st.lists(action, min_size=1, max_size=12))
def test_the_programme_roll_ups_equal_a_recount_from_the_aggregates(
    services: Services, drawn: list[tuple[Any, ...]]
) -> None:
    application = services.application
    labs = [f"lab-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    campaign = f"campagne-{uuid.uuid4().hex[:10]}"
    saved = [build(labs[d[0]], campaign, d) for d in drawn]
    application.save(*saved)
    for projection in PROJECTIONS:
        ProjectionWorker(services, projection).run_until_caught_up()

    actions = [application.get_training(a.id) for a in saved]
    programme = training_programme(read_engine(services), TrainingQuery(campaign=campaign))

    held = [a for a in actions if a.status == TrainingStatus.HELD.value]
    statuses = Counter(a.status for a in actions)
    assert (programme.scheduled, programme.held, programme.cancelled) == (
        statuses[TrainingStatus.SCHEDULED.value],
        statuses[TrainingStatus.HELD.value],
        statuses[TrainingStatus.CANCELLED.value],
    )
    assert programme.agents_trained == sum(a.attendance or 0 for a in held)
    assert programme.held_online == sum(a.mode == ActivityMode.REMOTE.value for a in held)
    assert programme.by_lab == recount(actions, lambda a: a.lab)
    assert programme.by_format == recount(actions, lambda a: a.format)
    assert programme.by_mode == recount(actions, lambda a: a.mode)
    assert programme.by_year == recount(actions, lambda a: a.first_session.year)
    assert programme.by_month == recount(actions, lambda a: a.first_session.strftime("%Y-%m"))
    assert programme.by_campaign == recount(actions, lambda a: a.campaign)
    # By the commune held in: the actions held remote have no place, in no group.
    placed = [a for a in actions if a.place is not None]
    assert programme.by_place == recount(placed, lambda a: a.place.code)
    by_audience: Counter[str] = Counter()
    for a in held:
        by_audience.update(a.attendance_by_audience)
    assert programme.by_audience == sorted((k, n) for k, n in by_audience.items())
