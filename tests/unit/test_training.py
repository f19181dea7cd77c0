"""A training action is scheduled, then held or cancelled; campaigns register under a slug."""

from __future__ import annotations

from datetime import date

import pytest

from domain.campaign import Campaign
from domain.errors import (
    AttendanceAboveCapacityError,
    AttendanceByAudienceError,
    DatesOutOfOrderError,
    FutureDateError,
    InvalidSlugError,
    InvalidValueError,
    PlaceRequiredError,
    ReasonRequiredError,
    RescheduleToSameDatesError,
    SessionRequiredError,
    TrainingCancelledError,
    TrainingHeldError,
)
from domain.training import TrainingAction
from domain.values import (
    ActivityMode,
    Audience,
    Territory,
    TrainingFormat,
    TrainingStatus,
)
from tests.factories import meta

NEVERS = Territory("commune", "58194", 2020)
FIRST = date(2020, 11, 23)
SECOND = date(2020, 11, 24)


def module(
    capacity: int | None = 20,
    mode: ActivityMode = ActivityMode.IN_PERSON,
    place: Territory | None = NEVERS,
    sessions: list[date] | None = None,
) -> TrainingAction:
    return TrainingAction.schedule(
        lab="lab-bfc",
        title="Module 2 « Design de services : du test au déploiement »",
        format=TrainingFormat.MODULE,
        session_dates=[FIRST, SECOND] if sessions is None else sessions,
        mode=mode,
        meta=meta(),
        place=place,
        partners=["CNFPT"],
        audiences=["communes_epci", "state"],
        capacity=capacity,
    )


def test_a_scheduled_action_records_its_sessions_place_and_audiences_in_order() -> None:
    action = module()
    assert action.training_status is TrainingStatus.SCHEDULED
    assert action.session_dates == [FIRST, SECOND]
    assert action.place == NEVERS
    assert action.audiences == [Audience.STATE.value, Audience.COMMUNES_EPCI.value]


def test_an_action_needs_a_session() -> None:
    with pytest.raises(SessionRequiredError):
        module(sessions=[])


@pytest.mark.parametrize("sessions", [[SECOND, FIRST], [FIRST, FIRST]])
def test_sessions_out_of_order_are_refused(sessions: list[date]) -> None:
    with pytest.raises(DatesOutOfOrderError):
        module(sessions=sessions)


@pytest.mark.parametrize("mode", [ActivityMode.IN_PERSON, ActivityMode.HYBRID])
def test_an_action_in_the_room_needs_a_place(mode: ActivityMode) -> None:
    with pytest.raises(PlaceRequiredError):
        module(mode=mode, place=None)


def test_a_remote_action_has_no_place() -> None:
    with pytest.raises(PlaceRequiredError):
        module(mode=ActivityMode.REMOTE, place=NEVERS)


def test_the_place_is_a_commune() -> None:
    with pytest.raises(PlaceRequiredError):
        module(place=Territory("department", "58", 2020))


def test_an_unknown_audience_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        TrainingAction.schedule(
            "lab-bfc", "Atelier", TrainingFormat.WORKSHOP, [FIRST], ActivityMode.REMOTE,
            meta(), audiences=["elus"],
        )  # fmt: skip


def test_a_capacity_of_zero_seats_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        module(capacity=0)


def test_holding_records_the_attendance_by_audience() -> None:
    action = module()
    action.hold(18, meta(), {"communes_epci": 12, "state": 4})
    assert action.training_status is TrainingStatus.HELD
    assert (action.attendance, action.attendance_by_audience) == (
        18,
        {"state": 4, "communes_epci": 12},
    )


def test_holding_above_capacity_needs_a_reason() -> None:
    with pytest.raises(AttendanceAboveCapacityError):
        module(capacity=20).hold(25, meta())


def test_holding_above_capacity_with_a_reason_is_accepted() -> None:
    action = module(capacity=20)
    action.hold(25, meta(), reason="une seconde salle ouverte")
    assert action.attendance == 25


def test_attendance_by_audience_above_the_total_is_refused() -> None:
    with pytest.raises(AttendanceByAudienceError):
        module().hold(10, meta(), {"state": 6, "region": 6})


def test_attendance_by_an_unknown_audience_is_refused() -> None:
    with pytest.raises(AttendanceByAudienceError):
        module().hold(10, meta(), {"elus": 3})


def test_a_negative_attendance_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        module().hold(-1, meta())


def test_an_action_cannot_be_held_before_its_first_session() -> None:
    action = module(sessions=[date(2030, 1, 10)])
    with pytest.raises(FutureDateError):
        action.hold(10, meta())


def test_cannot_hold_a_cancelled_action() -> None:
    action = module()
    action.cancel(meta(), "formateur absent")
    with pytest.raises(TrainingCancelledError):
        action.hold(10, meta())


def test_cannot_hold_an_action_twice() -> None:
    action = module()
    action.hold(10, meta())
    with pytest.raises(TrainingHeldError):
        action.hold(12, meta())


def test_cannot_cancel_a_held_action() -> None:
    action = module()
    action.hold(10, meta())
    with pytest.raises(TrainingHeldError):
        action.cancel(meta(), "trop tard")


def test_cancelling_needs_a_reason() -> None:
    with pytest.raises(ReasonRequiredError):
        module().cancel(meta(), "  ")


def test_a_cancelled_action_keeps_its_reason() -> None:
    action = module()
    action.cancel(meta(), "confinement")
    assert (action.training_status, action.cancel_reason) == (
        TrainingStatus.CANCELLED,
        "confinement",
    )


def test_rescheduling_needs_a_reason() -> None:
    with pytest.raises(ReasonRequiredError):
        module().reschedule([date(2020, 12, 1)], meta(), None)


def test_rescheduling_keeps_the_previous_dates() -> None:
    action = module()
    action.reschedule([date(2020, 12, 1), date(2020, 12, 2)], meta(), "confinement")
    action.reschedule([date(2020, 12, 8)], meta(), "salle indisponible")
    assert action.session_dates == [date(2020, 12, 8)]
    assert [(r.previous_dates, r.reason) for r in action.reschedules] == [
        ([FIRST, SECOND], "confinement"),
        ([date(2020, 12, 1), date(2020, 12, 2)], "salle indisponible"),
    ]


def test_rescheduling_to_the_same_dates_is_refused() -> None:
    with pytest.raises(RescheduleToSameDatesError):
        module().reschedule([FIRST, SECOND], meta(), "rien")


def test_rescheduling_out_of_order_is_refused() -> None:
    with pytest.raises(DatesOutOfOrderError):
        module().reschedule([SECOND, FIRST], meta(), "inversé")


def test_cannot_reschedule_a_held_action() -> None:
    action = module()
    action.hold(10, meta())
    with pytest.raises(TrainingHeldError):
        action.reschedule([date(2020, 12, 1)], meta(), "trop tard")


def test_revising_changes_only_what_is_given() -> None:
    action = module()
    action.revise_details(meta(), capacity=30, campaign="mois-innovation-publique-2020")
    assert (action.capacity, action.campaign, action.partners) == (
        30,
        "mois-innovation-publique-2020",
        ["CNFPT"],
    )


def test_revising_nothing_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        module().revise_details(meta())


def test_cannot_revise_a_cancelled_action() -> None:
    action = module()
    action.cancel(meta(), "annulé")
    with pytest.raises(TrainingCancelledError):
        action.revise_details(meta(), title="Autre titre")


def test_every_format_and_audience_has_a_french_label() -> None:
    assert TrainingFormat.E_CONFERENCE.label == "E-conférence"
    assert all(f.label for f in TrainingFormat)
    assert all(a.label for a in Audience)


def campaign(starts_on: date = date(2020, 11, 2), ends_on: date = date(2020, 11, 30)) -> Campaign:
    return Campaign.register(
        slug="mois-innovation-publique-2020",
        name="Mois de l'innovation publique 2020",
        starts_on=starts_on,
        ends_on=ends_on,
        theme="la transformation publique au cœur des territoires",
        organiser="DITP",
        meta=meta(),
    )


def test_a_campaign_id_is_derived_from_its_slug() -> None:
    assert campaign().id == Campaign.id_for("mois-innovation-publique-2020")


def test_a_campaign_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(DatesOutOfOrderError):
        campaign(starts_on=date(2020, 11, 30), ends_on=date(2020, 11, 2))


def test_a_campaign_needs_a_valid_slug() -> None:
    with pytest.raises(InvalidSlugError):
        Campaign.register(
            "Mois 2020", "Mois", date(2020, 11, 2), date(2020, 11, 30), "", "DITP", meta()
        )
