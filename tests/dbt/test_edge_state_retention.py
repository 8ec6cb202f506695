"""int_edge_state keeps only the decayed states of the last edge_state_days_kept built days, and so
do the other daily state tables: the warehouse no longer grows by the whole 90-day graph every day,
a failed latest day can still be rebuilt, and rebuilding a day whose earlier state was pruned fails
loudly instead of starting from an empty graph."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import duckdb
import pytest
from dbt_world import DbtWorld
from test_model_properties import D0, DAY, write_world

# several `dbt build`s in child processes: well over 20 s together
pytestmark = pytest.mark.slow

SCORES = "select person_id, score, rank from marts.fct_person_scores where score_date = ? order by person_id"
STATE_DAYS = "select distinct state_date from intermediate.int_edge_state order by 1"
# the other daily state tables: each keeps the last edge_state_days_kept days it holds rows for
DAILY_STATE_TABLES = (("int_pagerank", "score_date"), ("int_actor_quality", "activity_date"),
                      ("int_account_daily_contributions", "activity_date"))
KEPT_STATES = ("select state_date, count(*), sum(weight::decimal(38, 18)) from intermediate.int_edge_state "
               "group by state_date order by state_date")


def test_only_the_last_states_are_kept_and_a_pruned_one_is_never_silently_replaced(tmp_path: Path) -> None:
    world = DbtWorld(tmp_path)
    write_world(world)
    world.build(D0, edge_state_days_kept=2)
    # ten older days of the other state tables, as a long-running warehouse would hold
    old_days = [D0 - offset * DAY for offset in range(40, 30, -1)]
    with duckdb.connect(str(world.warehouse)) as connection:
        for table, day_column in DAILY_STATE_TABLES:
            for old_day in old_days:
                connection.execute(f"insert into intermediate.{table} by name select * replace (?::date as {day_column}) "
                                   f"from intermediate.{table} where {day_column} = ?", [old_day, D0])
    for day in (D0 + DAY, D0 + 2 * DAY):
        world.build(day, edge_state_days_kept=2)
    assert [row[0] for row in world.query(STATE_DAYS)] == [D0 + DAY, D0 + 2 * DAY]
    # each keeps the last two days it holds rows for: nobody acted on D0 + 2, but the graph, so
    # PageRank, carries over
    assert _days_held(world) == {"int_pagerank": [D0 + DAY, D0 + 2 * DAY], "int_actor_quality": [D0, D0 + DAY],
                                 "int_account_daily_contributions": [D0, D0 + DAY]}
    edges_on_last_day = world.scalar("select count(*) from intermediate.int_edge_state where state_date = ?", D0 + 2 * DAY)
    assert edges_on_last_day > 100  # the crafted world's first-day edges, decayed but kept
    scores = world.query(SCORES, D0 + 2 * DAY)
    assert len(scores) >= 10
    kept_states = world.query(KEPT_STATES)

    # a failed latest day is rebuilt from the kept state before it: the same scores
    world.build(D0 + 2 * DAY, edge_state_days_kept=2)
    assert world.query(SCORES, D0 + 2 * DAY) == scores
    assert [row[0] for row in world.query(STATE_DAYS)] == [D0 + DAY, D0 + 2 * DAY]

    # D0 + 1 needs the state of D0, which is gone, and PageRank ranked a graph on D0
    # (int_pagerank_convergence, never pruned): the build fails, says why, and its transaction is
    # rolled back (the kept state of D0 + 1 is not replaced by a graph started from nothing)
    with pytest.raises(AssertionError, match="int_edge_state"):
        world.build(D0 + DAY, edge_state_days_kept=2)
    log = world.dbt_log.read_text()
    assert f"no decayed state before {D0 + DAY} for model_version" in log
    assert "only the states of the last 2 built days are kept" in log
    assert world.query(KEPT_STATES) == kept_states


def _days_held(world: DbtWorld) -> dict[str, list[datetime.date]]:
    return {table: [row[0] for row in world.query(f"select distinct {day_column} from intermediate.{table} order by 1")]
            for table, day_column in DAILY_STATE_TABLES}


PAIR_DAYS = "select distinct activity_date from intermediate.int_engagement_pairs_daily order by 1"
PAIRS_OF_DAY = "select count(*), sum(scored_events) from intermediate.int_engagement_pairs_daily where activity_date = ?"


def test_engagement_pairs_keep_the_signal_windows_of_the_days_that_can_be_rebuilt(tmp_path: Path) -> None:
    """int_engagement_pairs_daily keeps the last edge_state_days_kept + 5 built days up to the run
    day and deletes older ones; a rebuild of an earlier day deletes none of the days after it."""
    world = DbtWorld(tmp_path)
    write_world(world)
    world.build(D0, edge_state_days_kept=2)
    pairs_of_d0 = world.query(PAIRS_OF_DAY, D0)
    assert pairs_of_d0[0][0] > 100
    old_days = [D0 - offset * DAY for offset in range(40, 30, -1)]  # D0-40 .. D0-31: ten built days
    _copy_pairs_of_day(world, D0, old_days)

    # 2 graphs kept: the oldest day that can be rebuilt is D0 + 1, whose window reaches back 6
    # days, over which only D0 was built; 2 + 5 = 7 built days are kept
    world.build(D0 + DAY, edge_state_days_kept=2)
    assert [row[0] for row in world.query(PAIR_DAYS)] == [*old_days[-5:], D0, D0 + DAY]
    assert world.query(PAIRS_OF_DAY, D0) == pairs_of_d0

    # rebuilding D0 (as a new model version built over past days would) counts the built days up
    # to D0 only: the five old days stay although seven days after D0 exist, and so do those
    later_days = [D0 + offset * DAY for offset in range(2, 7)]
    _copy_pairs_of_day(world, D0, later_days)
    pairs_of_d1 = world.query(PAIRS_OF_DAY, D0 + DAY)
    world.build(D0, edge_state_days_kept=2)
    assert [row[0] for row in world.query(PAIR_DAYS)] == [*old_days[-5:], D0, D0 + DAY, *later_days]
    assert world.query(PAIRS_OF_DAY, D0 + DAY) == pairs_of_d1


def _copy_pairs_of_day(world: DbtWorld, day: datetime.date, copies: list[datetime.date]) -> None:
    """Built days of int_engagement_pairs_daily without building them: ``day``'s pairs again."""
    with duckdb.connect(str(world.warehouse)) as connection:
        for copy in copies:
            connection.execute("insert into intermediate.int_engagement_pairs_daily by name "
                               "select * replace (?::date as activity_date) "
                               "from intermediate.int_engagement_pairs_daily where activity_date = ?", [copy, day])


KEYED_STATE = ("select state.state_date, actor.account_key, target.account_key, state.weight, state.last_engaged_date "
               "from intermediate.int_edge_state as state "
               "join intermediate.int_account_numbers as actor on actor.account_number = state.actor_number "
               "join intermediate.int_account_numbers as target on target.account_number = state.target_number "
               "order by all")


def _revert_to_string_ends(warehouse: Path) -> None:
    """Give the warehouse the layout of a build before account numbers: int_edge_state with
    string ends (actor_key, target_key) and no int_account_numbers."""
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("""
            create table intermediate.int_edge_state_keyed as
            select state.state_date, state.model_version, state.network,
                   actor.account_key as actor_key, target.account_key as target_key,
                   state.weight, state.last_engaged_date
            from intermediate.int_edge_state as state
            join intermediate.int_account_numbers as actor on actor.account_number = state.actor_number
            join intermediate.int_account_numbers as target on target.account_number = state.target_number""")
        connection.execute("drop table intermediate.int_edge_state")
        connection.execute("alter table intermediate.int_edge_state_keyed rename to int_edge_state")
        connection.execute("drop table intermediate.int_account_numbers")


def test_a_graph_with_string_ends_is_converted_not_lost(tmp_path: Path) -> None:
    """A warehouse built before the graph was keyed by account numbers keeps its decayed graph: the
    next build converts it and gives the same graph and scores as a warehouse built with numbers."""
    numbered = DbtWorld(tmp_path / "numbered")
    write_world(numbered)
    numbered.build(D0)

    # the same first day, in the layout of a warehouse built before account numbers; the next day
    # builds on its kept state, so it is converted before it is read
    converted = DbtWorld(tmp_path / "converted")
    write_world(converted)
    shutil.copyfile(numbered.warehouse, converted.warehouse)
    _revert_to_string_ends(converted.warehouse)
    numbered.build(D0 + DAY)
    converted.build(D0 + DAY)

    state = numbered.query(KEYED_STATE)
    assert {row[0] for row in state} == {D0, D0 + DAY}
    assert len(state) > 100
    assert converted.query(KEYED_STATE) == state
    assert converted.query(SCORES, D0 + DAY) == numbered.query(SCORES, D0 + DAY)
    assert "converting the kept states from string ends to account numbers" in converted.dbt_log.read_text()
    # the conversion numbered only the accounts that the day's build had not numbered already
    assert converted.scalar("select count(*) - count(distinct account_key) from intermediate.int_account_numbers") == 0
