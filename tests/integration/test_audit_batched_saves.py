"""Hash chains stay whole when one save holds several events of a new stream, or many streams."""

from __future__ import annotations

from domain.values import Health
from tests.factories import meta, new_project, registered_lab
from tracker.application.service import TrackerApplication
from tracker.audit.verify import verify


def test_a_new_stream_saved_with_several_events_verifies(
    application: TrackerApplication,
) -> None:
    lab = registered_lab(application)
    project = new_project(lab=lab)
    project.assess_health(Health.AT_RISK, meta())
    project.assess_health(Health.OFF_TRACK, meta())
    other = new_project(lab=lab)
    other.assess_health(Health.AT_RISK, meta())
    application.save(project, other)
    project.assess_health(Health.ON_TRACK, meta())
    application.save(project)
    assert verify(application).findings == []
