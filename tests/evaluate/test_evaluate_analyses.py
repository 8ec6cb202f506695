"""Stability split and mart reading on a crafted warehouse and raw directory."""

from __future__ import annotations

import datetime
import math
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors.schema import EVENTS
from influence.errors import InfluenceError
from influence.evaluate import Warehouse, other_date_comparisons, scenario_paths, select_genuine_engagers, stability


def _write_raw_day(raw: Path, day: datetime.date, pairs: list[tuple[str, str]]) -> None:
    partition = raw / "twitter" / "events" / f"dt={day.isoformat()}"
    partition.mkdir(parents=True)
    rows = [
        {
            "network": "twitter", "event_id": f"rt:{actor}:{target}:{day}", "event_type": "reshare",
            "actor_account_id": actor, "target_account_id": target, "target_post_id": None, "post_id": None,
            "occurred_at": datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.UTC),
            "source_file": "crafted", "source_line": line,
        }  # fmt: skip
        for line, (actor, target) in enumerate(pairs)
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=EVENTS), partition / "part-0.parquet")


@pytest.fixture
def crafted(tmp_path: Path) -> tuple[Path, Path]:
    scenario = scenario_paths(tmp_path, "clean", tmp_path / "samples")
    day1, day2 = datetime.date(2012, 7, 1), datetime.date(2012, 7, 2)
    _write_raw_day(scenario.raw, day1, [("a", "b")])
    # day 2: a reshares itself (self-interaction is not activity), c engages b
    _write_raw_day(scenario.raw, day2, [("a", "a"), ("c", "b")])
    scenario.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(scenario.warehouse))
    con.execute("create schema marts")
    con.execute(
        """create table marts.fct_person_scores as select * from (values
            (date '2012-07-01', 'twitter:a', 10.0, 2, 'emerging'),
            (date '2012-07-01', 'twitter:b', 20.0, 1, 'emerging'),
            (date '2012-07-02', 'twitter:a',  9.5, 3, 'emerging'),
            (date '2012-07-02', 'twitter:b', 23.0, 1, 'emerging'),
            (date '2012-07-02', 'twitter:c', 12.0, 2, 'emerging')
        ) as t(score_date, person_id, score, rank, tier)"""
    )
    con.close()
    return scenario.raw.parent, scenario.warehouse


def test_stability_splits_changes_by_activity_and_skips_first_appearances(crafted: tuple[Path, Path], tmp_path: Path) -> None:
    scenario = scenario_paths(tmp_path, "clean", tmp_path / "samples")
    warehouse = Warehouse(scenario.warehouse)
    result = stability(scenario, warehouse)
    warehouse.close()
    # b was engaged with on day 2 (+3); a only engaged itself, so it counts as inactive (-0.5);
    # c appears for the first time on day 2
    assert result.changes["with new activity that day"].tolist() == [3.0]
    assert result.changes["without new activity that day"].tolist() == [0.5]
    assert result.new_persons == 1
    inactive = next(row for row in result.table if row[0].startswith("without"))
    assert inactive[1:] == (1, 0.5, 0.5, 0.5, 0.5, 0.0)


def test_person_scores_of_one_day_come_in_rank_order(crafted: tuple[Path, Path], tmp_path: Path) -> None:
    warehouse = Warehouse(scenario_paths(tmp_path, "clean", tmp_path / "samples").warehouse)
    scores = warehouse.person_scores(datetime.date(2012, 7, 2))
    warehouse.close()
    assert list(scores["person_id"]) == ["twitter:b", "twitter:c", "twitter:a"]


def test_genuine_engagers_are_active_selective_disjoint_and_never_touch_a_target(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    days = [datetime.date(2012, 7, d) for d in (1, 2, 3)]
    for day in days:
        pairs = [(f"g{i}", f"g{(i + 1) % 8}") for i in range(8)]  # g0..g7 act daily and are engaged with
        pairs += [("g0", "t1")]  # g0 already engages a target: excluded
        pairs += [("once", "g1")] if day == days[0] else []  # active on one day only: excluded
        _write_raw_day(raw, day, pairs)
    groups = select_genuine_engagers(raw, ["t1", "g7"], count=2)
    drawn = [account for group in groups for account in group]
    assert len(groups) == 2 and all(len(group) == 2 for group in groups)
    assert len(set(drawn)) == 4
    # g1..g5 qualify: not g0 (engaged t1), not g6 (engaged g7), not g7 (a target), not "once"
    assert set(drawn) <= {f"g{i}" for i in range(1, 6)}
    assert select_genuine_engagers(raw, ["t1", "g7"], count=2) == groups  # seeded: reproducible
    with pytest.raises(InfluenceError, match="only 5 accounts qualify"):
        select_genuine_engagers(raw, ["t1", "g7"], count=3)


def test_uplift_counts_an_unscored_day_as_the_floor() -> None:
    from influence.evaluate import TargetRun

    nan = float("nan")
    run = TargetRun(
        label="median", target_id="1", clean_engagers=5, ring_ids=(), genuine_engager_ids=(),
        scores={"clean": [nan, 10.0, 12.0], "ring": [4.5, 11.0, 12.5]}, ranks={},
    )  # fmt: skip
    assert run.daily_uplift("ring") == [3.5, 1.0, 0.5]
    assert run.uplift("ring") == 0.5
    assert run.max_uplift("ring") == 3.5


def test_lift_from_the_floor_only_counts_days_before_the_first_genuine_engagement() -> None:
    from influence.evaluate import TargetRun

    nan = float("nan")
    run = TargetRun(
        label="median", target_id="1", clean_engagers=5, ring_ids=(), genuine_engager_ids=(),
        scores={"clean": [nan, nan, 30.0], "ring": [6.0, 11.0, 45.0]}, ranks={},
    )  # fmt: skip
    assert run.lift_from_floor("ring") == 10.0  # day 2: 11 - floor; day 3's +15 is not from the floor
    scored_throughout = TargetRun(
        label="median", target_id="1", clean_engagers=5, ring_ids=(), genuine_engager_ids=(),
        scores={"clean": [2.0], "ring": [3.0]}, ranks={},
    )  # fmt: skip
    assert math.isnan(scored_throughout.lift_from_floor("ring"))


def test_other_prediction_dates_compare_the_model_with_the_best_count_on_that_split(tmp_path: Path) -> None:
    scenario = scenario_paths(tmp_path, "clean", tmp_path / "samples")
    july = [datetime.date(2012, 7, day) for day in range(1, 8)]
    # by 07-02: b has two engagers, e one; from 07-03: b gets three more, e one more
    history = {july[0]: [("a", "b"), ("d", "e")], july[1]: [("c", "b")]}
    future = {july[2]: [("x", "b"), ("y", "b"), ("z", "e")], july[3]: [("w", "b")]}
    for day in july:
        _write_raw_day(scenario.raw, day, history.get(day, []) + future.get(day, []))
    scenario.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(scenario.warehouse))
    con.execute("create schema marts")
    # the model ranks e above b on 07-02: worse than counting distinct engagers
    con.execute("""create table marts.fct_network_scores as select * from (values
        (date '2012-07-02', 'twitter', 'twitter:b', 10.0), (date '2012-07-02', 'twitter', 'twitter:e', 20.0)
        ) as t(score_date, network, account_key, score)""")
    con.close()
    warehouse = Warehouse(scenario.warehouse)
    comparisons = other_date_comparisons(scenario, warehouse, dates=(july[1],))
    warehouse.close()
    assert [(c.as_of, c.outcome, c.accounts) for c in comparisons] == [
        (july[1], "distinct engagers", 5), (july[1], "reshares received", 5)
    ]
    distinct = comparisons[0]
    assert distinct.best_spearman.predictor == "distinct engagers to date"
    assert distinct.model.spearman < distinct.best_spearman.spearman
    assert distinct.model.ndcg < distinct.best_ndcg.ndcg == 1.0
