"""Properties 1-3 and 5-7 of the influence model (issue 3), checked on one crafted world.

The world is a set of independent little graphs in one network, so one `dbt build` per day checks
them all: each comparison uses two targets whose engagement differs in exactly one respect."""

from __future__ import annotations

import csv
import datetime
import math
from collections.abc import Iterator

import networkx
import pytest

from influence.settings import DBT_PROJECT_DIR, MODEL_VERSION
from dbt_world import DbtWorld, Events, at

# several `dbt build`s in child processes: well over 20 s together
pytestmark = pytest.mark.slow

D0 = datetime.date(2020, 3, 2)
DAY = datetime.timedelta(days=1)
BUILD_DAYS = (D0, D0 + DAY, D0 + 2 * DAY, D0 + 89 * DAY, D0 + 90 * DAY)


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}" for n in range(count)]


def crafted_first_day() -> tuple[Events, Events, Events]:
    twitter = Events("twitter")
    # property 2: t2 gets exactly t1's engagement plus five more genuine reshares
    twitter.reshares(ids("a", 10), "gen_t1", D0)
    twitter.reshares(ids("b", 15), "gen_t2", D0)
    # property 3a: 100 reshares from 100 distinct accounts vs 100 from one account
    twitter.reshares(ids("c", 100), "q_distinct", D0)
    for n in range(100):
        twitter.add("reshare", "d0", "q_single", at(D0, 7200 + 600 * (n // 10) + n))
    # property 3b: one reshare from an influential account (50 accounts reshare it) vs one from an
    # account with a single engager; both actors act once and both have an audience outside any ring
    twitter.reshares(ids("e", 50), "hub_h", D0)
    twitter.add("reshare", "hub_h", "infl_high", at(D0, 40000))
    twitter.add("reshare", "f0", "leaf_l", at(D0, 40100))
    twitter.add("reshare", "leaf_l", "infl_low", at(D0, 40200))
    # property 5 / 7: engagement on the first day only, then silence
    twitter.reshares(ids("g", 30), "decay_t", D0)
    twitter.add("mention", "g0", "decay_t", at(D0, 50000))
    twitter.add("reply", "g1", "decay_t", at(D0, 50100))
    # a self-interaction: dropped and counted, never scored
    twitter.add("reshare", "gen_t1", "gen_t1", at(D0, 60000))
    # a stray repeated input line: a0's reshare of gen_t1 twice, as the 10th reshare of gen_t1
    # (from a9) three times, with a different event type on the third copy; staging keeps the first
    # line of each id (so a9's reshare stays a reshare), counts the others, and gen_t1 still has
    # exactly the 10 reshares property 2 compares with gen_t2
    twitter.rows.append({**twitter.rows[0], "source_line": len(twitter.rows) + 1})
    twitter.rows.append({**twitter.rows[9], "source_line": len(twitter.rows) + 1})
    twitter.rows.append({**twitter.rows[9], "event_type": "mention", "source_line": len(twitter.rows) + 1})

    # property 2 (linking): one person (AccountId 777) with an account on each of two sites
    quantum = Events("se_quantumcomputing")
    quantum.add("post", "100", None, at(D0, 1000), post="q1")
    quantum.add("like", None, "100", at(D0), target_post="q1")
    quantum.add("like", None, "100", at(D0), target_post="q1")
    quantum.add("answer", "300", "100", at(D0, 2000), target_post="q1", post="q2")
    conlang = Events("se_conlang")
    conlang.add("post", "200", None, at(D0, 1000), post="c1")
    conlang.add("like", None, "200", at(D0), target_post="c1")
    conlang.add("comment", "400", "200", at(D0, 3000), target_post="c1", post="c2")
    return twitter, quantum, conlang


def se_snapshot(network: str, account_ids: list[str], day: datetime.date) -> list[dict[str, object]]:
    return [{"network": network, "account_id": account, "display_name": f"user {account}", "created_at": at(D0),
             "reputation": 1, "followers_count": None, "snapshot_day": day} for account in account_ids]


def se_links(network: str, links: dict[str, str]) -> list[dict[str, object]]:
    return [{"network": network, "account_id": account, "identity_namespace": "stackexchange", "identity_key": key}
            for account, key in links.items()]


def write_world(world: DbtWorld) -> None:
    twitter, quantum, conlang = crafted_first_day()
    for day in BUILD_DAYS:
        accounts = {"se_quantumcomputing": se_snapshot("se_quantumcomputing", ["100", "300"], day),
                    "se_conlang": se_snapshot("se_conlang", ["200", "400"], day)}
        links = {"se_quantumcomputing": se_links("se_quantumcomputing", {"100": "777", "300": "778"}),
                 "se_conlang": se_links("se_conlang", {"200": "777", "400": "779"})}
        if day == D0:
            world.write_day(day, [twitter, quantum, conlang], accounts=accounts, links=links)
        elif day == D0 + DAY:
            # newcomers: a busy, unconnected group joins; nobody above receives anything
            newcomers = Events("twitter")
            for hub in range(20):
                newcomers.reshares(ids(f"new{hub}_", 40), f"newhub{hub}", day)
            world.write_day(day, [newcomers], accounts=accounts, links=links)
        else:
            world.write_day(day, [], accounts=accounts, links=links)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtWorld]:
    crafted = DbtWorld(tmp_path_factory.mktemp("crafted"))
    write_world(crafted)
    crafted.build_range(list(BUILD_DAYS))
    yield crafted


def score(world: DbtWorld, person_id: str, day: datetime.date = D0) -> float:
    value = world.person_score(day, person_id)
    assert value is not None, f"{person_id} not scored on {day}"
    return float(value)


# property 1 -------------------------------------------------------------------------------------
def test_every_score_within_1_and_100_and_one_row_per_person_and_day(world: DbtWorld) -> None:
    rows = world.query("select score_date, count(*), count(distinct person_id), min(score), max(score) "
                       "from marts.fct_person_scores group by score_date order by score_date")
    assert [row[0] for row in rows] == list(BUILD_DAYS)
    for day, persons, distinct_persons, lowest, highest in rows:
        assert persons == distinct_persons, day
        assert 1.0 <= lowest <= highest <= 100.0, day


def test_self_interactions_are_dropped_and_counted(world: DbtWorld) -> None:
    assert world.scalar("select rows_dropped_self_interaction from intermediate.int_row_accounting "
                        "where activity_date = ? and network = 'twitter'", D0) == 1
    # the repeated lines of two event ids: three extra raw rows, each id kept once, from its first line
    assert world.query("select rows_dropped_duplicate_event_id, rows_read from intermediate.int_row_accounting "
                       "where activity_date = ? and network = 'twitter'", D0) == [(3, 10 + 15 + 100 + 100 + 50 + 3 + 30 + 2 + 1 + 3)]
    assert world.query("select reshares_received, mentions_received from marts.fct_account_daily_activity "
                       "where activity_date = ? and account_key = 'twitter:gen_t1'", D0) == [(10, 0)]
    assert world.scalar("select self_interactions_dropped from marts.fct_account_daily_activity "
                        "where activity_date = ? and account_key = 'twitter:gen_t1'", D0) == 1


def test_daily_activity_counts_engagers_from_the_pairs_and_anonymous_votes_from_the_events(world: DbtWorld) -> None:
    columns = ("engagements_received, distinct_engagers, reshares_received, distinct_resharers, "
               "conversation_received, mentions_received, appreciation_received, anonymous_engagements_received")
    counts = dict((row[0], row[1:]) for row in world.query(
        f"select account_key, {columns} from marts.fct_account_daily_activity where activity_date = ? "
        "and account_key in ('twitter:q_single', 'twitter:decay_t', 'se_quantumcomputing:100')", D0))
    assert counts == {
        "twitter:q_single": (100, 1, 100, 1, 0, 0, 0, 0),          # 100 reshares, one account
        "twitter:decay_t": (32, 30, 30, 30, 1, 1, 0, 0),           # 30 resharers, one of them also mentions, one replies
        "se_quantumcomputing:100": (3, 1, 0, 0, 1, 0, 2, 2),       # one answer, two anonymous likes
    }


# property 2 -------------------------------------------------------------------------------------
def test_more_genuine_engagement_never_lowers_a_score(world: DbtWorld) -> None:
    assert score(world, "twitter:gen_t2") > score(world, "twitter:gen_t1")


def test_linking_one_more_network_never_lowers_a_persons_score(world: DbtWorld) -> None:
    linked = score(world, "stackexchange:777")
    accounts = dict(world.query("select account_key, score from marts.fct_network_scores where score_date = ? "
                                "and account_key in ('se_quantumcomputing:100', 'se_conlang:200')", D0))
    assert set(accounts) == {"se_quantumcomputing:100", "se_conlang:200"}
    assert linked > max(accounts.values())
    assert world.scalar("select networks from marts.fct_person_scores where score_date = ? and person_id = ?",
                        D0, "stackexchange:777") == "se_conlang,se_quantumcomputing"


# property 3 -------------------------------------------------------------------------------------
def test_reshares_from_distinct_accounts_beat_the_same_number_from_one_account(world: DbtWorld) -> None:
    assert score(world, "twitter:q_distinct") > score(world, "twitter:q_single") + 10


def test_engagement_from_a_more_influential_account_counts_more(world: DbtWorld) -> None:
    pagerank = dict(world.query("select account_key, pagerank_normalized from intermediate.int_pagerank "
                                "where score_date = ? and account_key in ('twitter:hub_h', 'twitter:leaf_l')", D0))
    assert pagerank["twitter:hub_h"] > 5 * pagerank["twitter:leaf_l"]
    # above the average account (1), where the influence multiplier rises above its floor (1.1.0)
    assert pagerank["twitter:hub_h"] > 1
    assert score(world, "twitter:infl_high") > score(world, "twitter:infl_low")


def test_pagerank_matches_networkx_on_the_same_weighted_graph(world: DbtWorld) -> None:
    from influence.bench import KEYED_EDGES

    edges = world.query(KEYED_EDGES, D0, "twitter")
    graph = networkx.DiGraph()
    graph.add_weighted_edges_from(edges)
    expected = networkx.pagerank(graph, alpha=0.85, weight="weight", tol=1e-12, max_iter=1000)
    ours = dict(world.query("select account_key, pagerank from intermediate.int_pagerank "
                            "where score_date = ? and network = 'twitter'", D0))
    assert set(ours) == set(expected)
    assert sum(abs(ours[node] - expected[node]) for node in expected) < 0.01
    converged = world.query("select iterations_run, converged, nodes, edges from intermediate.int_pagerank_convergence "
                            "where score_date = ? and network = 'twitter'", D0)
    assert converged[0][1] is True and 1 < converged[0][0] < 100
    # the graph size recorded is the graph ranked
    assert converged[0][2:] == (graph.number_of_nodes(), graph.number_of_edges())


def test_the_bench_compares_the_sql_pagerank_with_scipy_on_the_graph_it_ranked(
        world: DbtWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make bench`'s PageRank check (influence.bench.compare_pagerank) reads the last built day's
    graph by account key and finds the same nodes and ranking as the SQL PageRank."""
    from dataclasses import replace

    from influence import bench
    from influence.settings import Paths

    monkeypatch.setattr(bench, "_load_results", lambda: {
        "scales": {"S": {"days": [{"dbt_nodes": {"model.influence.int_pagerank": 1.0}}]}}})
    comparison = bench.compare_pagerank(replace(Paths.under(world.root), warehouse=world.warehouse), "S")
    twitter = comparison["per_network"]["twitter"]
    assert twitter["nodes"] == twitter["sql_nodes"] > 10 and twitter["nodes_only_in_one"] == 0
    assert comparison["spearman"] >= 0.999
    assert comparison["networkx_check"]["max_abs_difference_vs_scipy"] < 1e-9


# property 5 -------------------------------------------------------------------------------------
def test_without_activity_a_score_falls_gradually_then_drops_out_after_90_days(world: DbtWorld) -> None:
    first, second, third = (score(world, "twitter:decay_t", day) for day in BUILD_DAYS[:3])
    assert first > second > third
    assert first - second <= 1.0 and second - third <= 1.0
    assert score(world, "twitter:decay_t", D0 + 89 * DAY) < third
    assert world.person_score(D0 + 90 * DAY, "twitter:decay_t") is None
    # 90 days after D0 only the newcomers of D0 + 1 are still ranked
    remaining = world.query("select person_id from marts.fct_person_scores where score_date = ?", D0 + 90 * DAY)
    assert remaining and all(person.startswith("twitter:newhub") for (person,) in remaining)


def test_scores_of_inactive_persons_never_fall_more_than_one_point_a_day(world: DbtWorld) -> None:
    falls = world.query("""
        select today.person_id, yesterday.score - today.score
        from marts.fct_person_scores today
        join marts.fct_person_scores yesterday
          on yesterday.person_id = today.person_id and yesterday.score_date = today.score_date - 1
        where today.score_date in (?, ?)""", D0 + DAY, D0 + 2 * DAY)
    assert len(falls) >= 10
    assert all(0.0 <= fall <= 1.0 for _, fall in falls), [f for f in falls if not 0 <= f[1] <= 1]


# property 6 -------------------------------------------------------------------------------------
def read_constants() -> tuple[dict[str, str], list[dict[str, str]]]:
    with (DBT_PROJECT_DIR / "seeds" / "model_versions.csv").open() as handle:
        version = next(row for row in csv.DictReader(handle) if row["model_version"] == MODEL_VERSION)
    with (DBT_PROJECT_DIR / "seeds" / "model_factor_weights.csv").open() as handle:
        weights = [row for row in csv.DictReader(handle) if row["model_version"] == MODEL_VERSION]
    return version, weights


def test_score_is_recomputable_by_hand_and_unmoved_by_newcomers(world: DbtWorld) -> None:
    """docs/model.md: score = 1 + 99 (1 - exp(-sum_f w_f ln(1 + x_f / s_f) / curvature)). On D0 + 1
    a busy group of newcomers joins; decay_t's score is its D0 factors decayed one day, mapped with
    the fixed constants: nothing about the newcomers enters it."""
    version, weights = read_constants()
    factors = [row["factor"] for row in weights]
    x_d0 = world.query(f"select {', '.join(factors)} from marts.fct_person_scores "
                       "where score_date = ? and person_id = 'twitter:decay_t'", D0)[0]
    decay = 0.5 ** (1 / float(version["half_life_days"]))
    raw = sum(float(row["weight"]) * math.log(1 + value * decay / float(row["saturation"]))
              for row, value in zip(weights, x_d0, strict=True))
    by_hand = 1 + 99 * (1 - math.exp(-raw / float(version["scale_curvature"])))
    newcomers = world.scalar("select count(*) from marts.fct_person_scores where score_date = ? "
                             "and person_id like 'twitter:newhub%'", D0 + DAY)
    assert newcomers == 20
    assert score(world, "twitter:decay_t", D0 + DAY) == pytest.approx(by_hand, abs=1e-4)


# property 7 -------------------------------------------------------------------------------------
def test_score_changes_sum_to_the_change_and_name_the_events(world: DbtWorld) -> None:
    rows = world.query("""
        select person_id, score_change, contribution_audience + contribution_amplification
            + contribution_conversation + contribution_mentions + contribution_appreciation
            + contribution_content + contribution_network_influence, top_events, previous_score, score
        from marts.fct_score_changes where score_date in (?, ?)""", D0, D0 + DAY)
    assert len(rows) >= 20
    for person, change, contributions, _, previous, current in rows:
        assert abs(change - contributions) <= 0.05, person
        assert change == pytest.approx(current - (previous if previous is not None else 1.0), abs=1e-9)
    first_day = world.scalar("select top_events from marts.fct_score_changes where score_date = ? "
                             "and person_id = 'twitter:decay_t'", D0)
    assert first_day.startswith("posts reshared by 30 distinct accounts on 2020-03-02; ")
    assert "account mentioned by 1 distinct account on 2020-03-02" in first_day
    decayed = world.query("select score_change, contribution_amplification, top_events from marts.fct_score_changes "
                          "where score_date = ? and person_id = 'twitter:decay_t'", D0 + DAY)[0]
    assert decayed[0] < 0 and decayed[1] < 0 and decayed[2] == "no new engagement on 2020-03-03 (decay only)"
