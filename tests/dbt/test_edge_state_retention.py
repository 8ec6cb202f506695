"""int_edge_state keeps the decayed graph in place (a version per edge and day it was engaged) and
only the versions the graphs of the last edge_state_days_kept built days are made of, and so do the
other daily state tables keep their last days: the warehouse holds one graph, not a copy per day, a
failed latest day can still be rebuilt, rebuilding a day whose earlier graph was pruned fails loudly
instead of starting from an empty graph, and a graph (or pairs) kept in an older layout is converted,
not lost."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import duckdb
import pytest
from dbt_world import DbtWorld, Events
from test_model_properties import D0, DAY, ids, se_links, se_snapshot, write_world

# several `dbt build`s in child processes: well over 20 s together
pytestmark = pytest.mark.slow

SCORES = "select person_id, score, rank from marts.fct_person_scores where score_date = ? order by person_id"
VERSIONS = "select * from intermediate.int_edge_state order by all"
# the graph on day $1 as PageRank reads it (macros/edge_state.sql, edge_state_on)
GRAPH_ON = ("select actor_number, target_number, weight * pow(0.5, ($1 - engaged_date) / 14) as weight "
            "from intermediate.int_edge_state "
            "where engaged_date <= $1 and engaged_date > $1 - 90 and (superseded_date is null or superseded_date > $1) "
            "order by all")
# the other daily state tables: each keeps the last edge_state_days_kept days it holds rows for
DAILY_STATE_TABLES = (("int_pagerank", "score_date"), ("int_actor_quality", "activity_date"),
                      ("int_account_daily_contributions", "activity_date"))


def write_repeating_world(world: DbtWorld) -> None:
    """The crafted world of test_model_properties, whose D0 + 1 also repeats two groups of D0's
    reshares: those edges get a second version, which supersedes the first."""
    write_world(world)
    day = D0 + DAY
    twitter = Events("twitter")
    for hub in range(20):
        twitter.reshares(ids(f"new{hub}_", 40), f"newhub{hub}", day)
    twitter.reshares(ids("a", 10), "gen_t1", day)
    twitter.reshares(ids("c", 100), "q_distinct", day, start_second=30000)
    world.write_day(day, [twitter],
                    accounts={"se_quantumcomputing": se_snapshot("se_quantumcomputing", ["100", "300"], day),
                              "se_conlang": se_snapshot("se_conlang", ["200", "400"], day)},
                    links={"se_quantumcomputing": se_links("se_quantumcomputing", {"100": "777", "300": "778"}),
                           "se_conlang": se_links("se_conlang", {"200": "777", "400": "779"})})


def test_only_the_versions_of_the_kept_graphs_are_kept_and_a_pruned_one_is_never_silently_replaced(
        tmp_path: Path) -> None:
    world = DbtWorld(tmp_path)
    write_repeating_world(world)
    world.build(D0, edge_state_days_kept=2)
    graph_of_d0 = world.query(GRAPH_ON, D0)
    # ten older days of the other state tables, and graph versions no kept graph is made of, as a
    # long-running warehouse would hold: an earlier version of each of D0's edges (superseded on
    # D0) and edges whose last engagement dropped out of the window (engaged 100 days before)
    old_days = [D0 - offset * DAY for offset in range(40, 30, -1)]
    with duckdb.connect(str(world.warehouse)) as connection:
        for table, day_column in DAILY_STATE_TABLES:
            for old_day in old_days:
                connection.execute(f"insert into intermediate.{table} by name select * replace (?::date as {day_column}) "
                                   f"from intermediate.{table} where {day_column} = ?", [old_day, D0])
        connection.execute("insert into intermediate.int_edge_state by name "
                           "select * replace (engaged_date - 3 as engaged_date, engaged_date as superseded_date) "
                           "from intermediate.int_edge_state")
        connection.execute("insert into intermediate.int_edge_state by name "
                           "select * replace (engaged_date - 100 as engaged_date, actor_number + 1000000 as actor_number) "
                           "from intermediate.int_edge_state where superseded_date is null")
    assert world.query(GRAPH_ON, D0) == graph_of_d0  # neither kind is part of D0's graph
    world.build(D0 + DAY, edge_state_days_kept=2)
    # the repeated reshares: a second version of each of those 110 edges, which supersedes the first
    assert world.scalar("select count(*) from intermediate.int_edge_state where engaged_date = ? and superseded_date = ?",
                        D0, D0 + DAY) == 110
    # the graph's singular test fails when one of them loses its link (the edge would count twice)
    edge = world.query("select actor_number, target_number from intermediate.int_edge_state "
                       "where engaged_date = ? and superseded_date = ? order by all limit 1", D0, D0 + DAY)[0]
    relink = ("update intermediate.int_edge_state set superseded_date = ? "
              "where engaged_date = ? and actor_number = ? and target_number = ?")
    with duckdb.connect(str(world.warehouse)) as connection:
        connection.execute(relink, [None, D0, *edge])
    check = world.test("--select", "assert_edge_state_has_one_version_per_edge", run_date=str(D0 + DAY))
    assert check.returncode == 1 and "Got 1 result" in check.stdout, check.stdout[-2000:]
    with duckdb.connect(str(world.warehouse)) as connection:
        connection.execute(relink, [D0 + DAY, D0, *edge])
    world.build(D0 + 2 * DAY, edge_state_days_kept=2)
    assert world.scalar("select count(*) from intermediate.int_edge_state where engaged_date < ?", D0) == 0
    # each keeps the last two days it holds rows for: nobody acted on D0 + 2, but the graph, so
    # PageRank, carries over
    assert _days_held(world) == {"int_pagerank": [D0 + DAY, D0 + 2 * DAY], "int_actor_quality": [D0, D0 + DAY],
                                 "int_account_daily_contributions": [D0, D0 + DAY]}
    graph = world.query(GRAPH_ON, D0 + 2 * DAY)
    assert len(graph) > 100  # the first days' edges, decayed but kept
    scores = world.query(SCORES, D0 + 2 * DAY)
    assert len(scores) >= 10

    # a failed latest day is rebuilt from the kept graph before it: the same graph and scores
    world.build(D0 + 2 * DAY, edge_state_days_kept=2)
    assert world.query(SCORES, D0 + 2 * DAY) == scores
    assert world.query(GRAPH_ON, D0 + 2 * DAY) == graph
    versions = world.query(VERSIONS)

    # D0 + 1 needs the graph of D0, which is no longer kept, and PageRank ranked a graph on D0
    # (int_pagerank_convergence, never pruned): the build fails, says why, and its transaction is
    # rolled back (the versions of D0 + 1 are not replaced by a graph started from nothing)
    with pytest.raises(AssertionError, match="int_edge_state"):
        world.build(D0 + DAY, edge_state_days_kept=2)
    log = world.dbt_log.read_text()
    assert f"no decayed state before {D0 + DAY} for model_version" in log
    assert "only the states of the last 2 built days are kept" in log
    assert world.query(VERSIONS) == versions


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


KEYED_VERSIONS = ("select state.engaged_date, actor.account_key, target.account_key, state.weight, state.superseded_date "
                  "from intermediate.int_edge_state as state "
                  "join intermediate.int_account_numbers as actor on actor.account_number = state.actor_number "
                  "join intermediate.int_account_numbers as target on target.account_number = state.target_number "
                  "order by all")


CONVERGENCE = ("select network, nodes, edges, iterations_run from intermediate.int_pagerank_convergence "
               "where score_date = ? order by all")
# the kept pairs with their ends' numbers resolved to keys: the same whoever numbered them
KEYED_PAIRS = ("select pairs.activity_date, pairs.actor_key, pairs.target_key, pairs.scored_events "
               "from intermediate.int_engagement_pairs_daily as pairs "
               "join intermediate.int_account_numbers as actor on actor.account_number = pairs.actor_number "
               "join intermediate.int_account_numbers as target on target.account_number = pairs.target_number "
               "where actor.account_key = pairs.actor_key and target.account_key = pairs.target_key "
               "order by all")


def _revert_to_daily_copies(warehouse: Path, days: list[datetime.date], *, string_ends: bool) -> None:
    """Give the warehouse an earlier release's layout of int_edge_state: a copy of the whole graph
    per built day (state_date, last_engaged_date), with numbered ends or, before account numbers,
    string ends (actor_key, target_key) and no int_account_numbers. Its kept pairs have no
    numbered ends either, and its kept ranks no graph size (no release before them had)."""
    ends = ("actor.account_key as actor_key, target.account_key as target_key" if string_ends
            else "state.actor_number, state.target_number")
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(f"""
            create table intermediate.int_edge_state_copies as
            select day.state_date, state.model_version, state.network, {ends},
                   state.weight * pow(0.5, (day.state_date - state.engaged_date) / 14) as weight,
                   state.engaged_date as last_engaged_date
            from intermediate.int_edge_state as state
            join (select unnest(?::date[]) as state_date) as day
              on state.engaged_date <= day.state_date and state.engaged_date > day.state_date - 90
             and (state.superseded_date is null or state.superseded_date > day.state_date)
            join intermediate.int_account_numbers as actor on actor.account_number = state.actor_number
            join intermediate.int_account_numbers as target on target.account_number = state.target_number""",
                           [days])
        connection.execute("drop table intermediate.int_edge_state")
        connection.execute("alter table intermediate.int_edge_state_copies rename to int_edge_state")
        connection.execute("alter table intermediate.int_engagement_pairs_daily drop column actor_number")
        connection.execute("alter table intermediate.int_engagement_pairs_daily drop column target_number")
        connection.execute("alter table intermediate.int_pagerank drop column network_edges")
        if string_ends:
            connection.execute("drop table intermediate.int_account_numbers")


def test_a_graph_kept_in_an_earlier_layout_is_converted_not_lost(tmp_path: Path) -> None:
    """A warehouse built by an earlier release keeps its decayed graph: daily copies of the graph
    (with numbered or string ends) are converted to versions by the next build, which then gives
    the same graph, versions and scores as a warehouse built in the current layout; the converted
    kept days can still be rebuilt."""
    current = DbtWorld(tmp_path / "current")
    write_repeating_world(current)
    current.build(D0)
    current.build(D0 + DAY)
    built = tmp_path / "built_two_days.duckdb"
    shutil.copyfile(current.warehouse, built)
    current.build(D0 + 2 * DAY)
    versions = current.query(KEYED_VERSIONS)
    assert len(versions) > 100
    pairs = current.query(KEYED_PAIRS)
    assert len(pairs) == current.scalar("select count(*) from intermediate.int_engagement_pairs_daily") > 100
    assert current.scalar("select count(*) from intermediate.int_edge_state where superseded_date is not null") == 110

    for string_ends in (False, True):
        converted = DbtWorld(tmp_path / f"converted_string_ends_{string_ends}")
        write_repeating_world(converted)
        shutil.copyfile(built, converted.warehouse)
        _revert_to_daily_copies(converted.warehouse, [D0, D0 + DAY], string_ends=string_ends)
        # the next day builds on the kept graph, so it is converted before it is read
        converted.build(D0 + 2 * DAY)
        assert converted.query(KEYED_VERSIONS) == versions, string_ends
        assert converted.query(SCORES, D0 + 2 * DAY) == current.query(SCORES, D0 + 2 * DAY)
        log = converted.dbt_log.read_text()
        assert "converting the kept daily copies of the graph to versions kept in place" in log
        assert ("converting the kept states from string ends to account numbers" in log) == string_ends
        # the kept pairs (the next days' signal windows) got numbered ends, consistent with the graph's
        assert "numbering the ends of the kept pairs" in log
        assert converted.query(KEYED_PAIRS) == pairs
        # int_pagerank gained the graph size as a column; the new day records it
        assert converted.query(CONVERGENCE, D0 + 2 * DAY) == current.query(CONVERGENCE, D0 + 2 * DAY)
        # the conversion numbered only the accounts that the day's build had not numbered already
        assert converted.scalar("select count(*) - count(distinct account_key) from intermediate.int_account_numbers") == 0
    # a converted kept day is rebuilt from the graph of the day before it, as in the current layout
    scores = converted.query(SCORES, D0 + DAY)
    converted.build(D0 + DAY)
    assert converted.query(SCORES, D0 + DAY) == scores
    assert converted.query(KEYED_VERSIONS) == versions
