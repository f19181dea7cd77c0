"""How a rebuild splits its projections between replay processes."""

from __future__ import annotations

from projections.activity import ActivityProjection
from projections.portfolio import PortfolioProjection
from projections.runner import PROJECTIONS, replay_groups
from projections.timeline import TimelineProjection
from projections.training import TrainingProjection
from projections.training_timeline import TrainingTimelineProjection


def test_one_process_replays_every_projection_in_the_order_asked() -> None:
    assert replay_groups(PROJECTIONS, 1) == [list(PROJECTIONS)]


def test_the_timeline_replays_beside_the_portfolio_that_feeds_it() -> None:
    assert replay_groups(PROJECTIONS, 2) == [
        [PortfolioProjection, TimelineProjection],
        [ActivityProjection, TrainingProjection, TrainingTimelineProjection],
    ]


def test_there_are_never_more_groups_than_projections_apart() -> None:
    assert replay_groups(PROJECTIONS, 8) == [
        [PortfolioProjection, TimelineProjection],
        [ActivityProjection],
        [TrainingProjection],
        [TrainingTimelineProjection],
    ]


def test_a_fed_projection_without_its_feeder_replays_alone() -> None:
    assert replay_groups((TimelineProjection, ActivityProjection), 2) == [
        [TimelineProjection],
        [ActivityProjection],
    ]
