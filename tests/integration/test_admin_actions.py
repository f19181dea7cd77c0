"""Administrative commands leave their trace in the admin log that auditors read."""

from __future__ import annotations

from tests.factories import admin_entries, run_tracker
from tracker.application.service import TrackerApplication
from tracker.config.settings import Settings


def test_a_projections_check_is_recorded_with_its_outcome(
    settings: Settings, application: TrackerApplication
) -> None:
    before = len(admin_entries(application))
    checked = run_tracker(settings.database_url, "projections", "rebuild", "--check")
    assert checked.returncode == 0, checked.stderr
    (entry,) = [e for e in admin_entries(application)[before:] if e.type == "ProjectionsRebuilt"]
    assert entry.data["checked"] is True
    assert entry.data["differences"] == 0
    assert sorted(entry.data["projections"]) == [
        "activity",
        "portfolio",
        "timeline",
        "training",
        "training_timeline",
    ]
