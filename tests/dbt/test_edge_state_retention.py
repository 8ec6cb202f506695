"""int_edge_state keeps only the decayed states of the last edge_state_days_kept built days: the
warehouse no longer grows by the whole 90-day graph every day, a failed latest day can still be
rebuilt, and rebuilding a day whose earlier state was pruned fails loudly instead of starting from
an empty graph."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_world import DbtWorld
from test_model_properties import D0, DAY, write_world

# several `dbt build`s in child processes: well over 20 s together
pytestmark = pytest.mark.slow

SCORES = "select person_id, score, rank from marts.fct_person_scores where score_date = ? order by person_id"
STATE_DAYS = "select distinct state_date from intermediate.int_edge_state order by 1"
KEPT_STATES = ("select state_date, count(*), sum(weight::decimal(38, 18)) from intermediate.int_edge_state "
               "group by state_date order by state_date")


def test_only_the_last_states_are_kept_and_a_pruned_one_is_never_silently_replaced(tmp_path: Path) -> None:
    world = DbtWorld(tmp_path)
    write_world(world)
    for day in (D0, D0 + DAY, D0 + 2 * DAY):
        world.build(day, edge_state_days_kept=2)
    assert [row[0] for row in world.query(STATE_DAYS)] == [D0 + DAY, D0 + 2 * DAY]
    edges_on_last_day = world.scalar("select count(*) from intermediate.int_edge_state where state_date = ?", D0 + 2 * DAY)
    assert edges_on_last_day > 100  # the crafted world's first-day edges, decayed but kept
    scores = world.query(SCORES, D0 + 2 * DAY)
    assert len(scores) >= 10
    kept_states = world.query(KEPT_STATES)

    # a failed latest day is rebuilt from the kept state before it: the same scores
    world.build(D0 + 2 * DAY, edge_state_days_kept=2)
    assert world.query(SCORES, D0 + 2 * DAY) == scores
    assert [row[0] for row in world.query(STATE_DAYS)] == [D0 + DAY, D0 + 2 * DAY]

    # D0 + 1 needs the state of D0, which is gone, and accounts engaged on D0: the build fails,
    # says why, and its transaction is rolled back (the kept state of D0 + 1 is not replaced by a
    # graph started from nothing)
    with pytest.raises(AssertionError, match="int_edge_state"):
        world.build(D0 + DAY, edge_state_days_kept=2)
    log = (world.root / "logs" / "dbt.log").read_text()
    assert f"no decayed state before {D0 + DAY} for model_version" in log
    assert "only the states of the last 2 built days are kept" in log
    assert world.query(KEPT_STATES) == kept_states
