"""The model on real Higgs days (extracted with the real extractors): marts consistent and scale
semantics (property 8). The anti-gaming experiment on real days is test_model_anti_gaming.py."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from dbt_world import JULY, DbtWorld, extract_days


@pytest.fixture(scope="module")
def two_higgs_days(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtWorld]:
    world = DbtWorld(tmp_path_factory.mktemp("higgs"))
    extract_days(world, JULY[:2])
    for day in JULY[:2]:
        world.build(day)
    yield world


@pytest.mark.slow
def test_marts_of_two_real_days_are_consistent(two_higgs_days: DbtWorld) -> None:
    world = two_higgs_days
    for day in JULY[:2]:
        persons, distinct, lowest, highest, ranks_ok = world.query("""
            select count(*), count(distinct person_id), min(score), max(score),
                   bool_and(rank = expected_rank)
            from (select *, row_number() over (order by score desc, person_id) as expected_rank
                  from marts.fct_person_scores where score_date = ?)""", day)[0]
        assert persons == distinct > 500
        assert 1.0 <= lowest <= highest <= 100.0
        assert ranks_ok
        raw_rows = pq.read_table(world.raw / "twitter" / "events" / f"dt={day}" / "part-0.parquet").num_rows
        read, accepted, dropped = world.query("""
            select rows_read, rows_accepted, rows_read - rows_accepted from intermediate.int_row_accounting
            where activity_date = ? and network = 'twitter'""", day)[0]
        assert read == raw_rows and accepted + dropped == raw_rows and dropped > 0   # Higgs has self-retweets
        changes = world.query("""
            select max(abs(score_change - (contribution_audience + contribution_amplification
                + contribution_conversation + contribution_mentions + contribution_appreciation
                + contribution_content + contribution_network_influence)))
            from marts.fct_score_changes where score_date = ?""", day)[0][0]
        assert changes <= 0.05


@pytest.mark.slow
def test_scale_semantics_on_real_data(two_higgs_days: DbtWorld) -> None:
    """Property 8: median 10-25, 50+ a few percent, 90+ very rare, gains harder near the top."""
    median, elite, exceptional = two_higgs_days.query("""
        select p50, share_elite_or_above, share_exceptional from marts.fct_score_percentiles
        where score_date = ? and scope = 'all'""", JULY[1])[0]
    assert 10 <= median <= 25
    assert 0.005 <= elite <= 0.06
    assert exceptional <= 0.001
    # the same raw-score step buys fewer points at the top than at the bottom
    bottom_slope, top_slope = two_higgs_days.query("""
        with ranked as (select score, raw_score, ntile(10) over (order by raw_score) as decile
                        from marts.fct_person_scores where score_date = ?)
        select (max(score) filter (where decile = 1) - min(score) filter (where decile = 1))
                 / (max(raw_score) filter (where decile = 1) - min(raw_score) filter (where decile = 1)),
               (max(score) filter (where decile = 10) - min(score) filter (where decile = 10))
                 / (max(raw_score) filter (where decile = 10) - min(raw_score) filter (where decile = 10))
        from ranked""", JULY[1])[0]
    assert top_slope < bottom_slope


@pytest.mark.slow
def test_history_tests_over_two_days_catch_a_count_error_on_either_day(two_higgs_days: DbtWorld, tmp_path: Path) -> None:
    """A backfill tests its days together: a score row missing on one day and one too many on the
    other must still fail the one-score-per-account test, not cancel out in a total."""
    clean, tampered = _dbt_test_before_and_after(two_higgs_days, tmp_path, "test_name:row_count_matches", [
        ("""delete from marts.fct_network_scores where rowid =
            (select min(rowid) from marts.fct_network_scores where score_date = ?)""", [JULY[0]]),
        ("insert into marts.fct_network_scores select * from marts.fct_network_scores where score_date = ? limit 1",
         [JULY[1]]),
    ])
    assert clean.returncode == 0
    assert tampered.returncode == 1
    assert "FAIL 2 row_count_matches_fct_network_scores" in tampered.stdout


@pytest.mark.slow
def test_row_accounting_catches_a_lost_row_and_a_row_read_twice(two_higgs_days: DbtWorld, tmp_path: Path) -> None:
    """assert_row_accounting_matches_raw fails when a dropped row is not accounted for (a reason
    without its column) and when the rows read differ from the raw partition's rows."""
    clean, tampered = _dbt_test_before_and_after(two_higgs_days, tmp_path, "assert_row_accounting_matches_raw", [
        ("""update intermediate.int_row_accounting
            set rows_dropped_self_interaction = rows_dropped_self_interaction - 1
            where activity_date = ? and network = 'twitter'""", [JULY[0]]),
        ("""update intermediate.int_row_accounting
            set rows_read = rows_read + 1, rows_accepted = rows_accepted + 1
            where activity_date = ? and network = 'twitter'""", [JULY[1]]),
    ])
    assert clean.returncode == 0
    assert tampered.returncode == 1
    assert "FAIL 2 assert_row_accounting_matches_raw" in tampered.stdout


def _dbt_test_before_and_after(
    built: DbtWorld, tmp_path: Path, selector: str, tampering: list[tuple[str, list[Any]]]
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """`dbt test --select selector` over both days on a copy of ``built``, then again after the
    ``tampering`` statements changed the copy's warehouse."""
    world = DbtWorld(tmp_path / "world")
    world.root.mkdir()
    shutil.copytree(built.raw, world.raw)
    shutil.copyfile(built.warehouse, world.warehouse)
    days = {"test_start_date": JULY[0].isoformat(), "run_date": JULY[1].isoformat()}
    clean = world.test("--select", selector, **days)
    with duckdb.connect(str(world.warehouse)) as connection:
        for statement, parameters in tampering:
            connection.execute(statement, parameters)
    return clean, world.test("--select", selector, **days)
