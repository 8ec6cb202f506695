"""validate_marts on a working warehouse whose marts.fct_person_scores ranks real Higgs accounts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from quality_helpers import JULY_2, JULY_3, build_person_scores, make_paths

import math

import pandas as pd

from influence.quality import QualityReport, _population_stability_index, validate_marts
from influence.settings import Paths

ROW_COUNT = "expect_table_row_count_to_be_between()"
PSI = "expect_column_max_to_be_between(psi_vs_previous_day)"
MOVERS = "expect_column_values_to_be_between(score_change_abs)"


def failed(report: QualityReport, suite: str = "marts_person_scores") -> set[tuple[str, str]]:
    """Failed person-score checks; any failure elsewhere is reported as such and fails the test."""
    return {(r.check, r.severity) if r.suite == suite else (r.suite, r.check, r.severity)  # type: ignore[misc]
            for r in report.results if not r.success}


def execute(paths: Paths, *statements: str) -> None:
    with duckdb.connect(str(paths.warehouse)) as connection:
        for statement in statements:
            connection.execute(statement)


@pytest.fixture
def two_days(higgs_raw: Path, tmp_path: Path) -> Paths:
    """Scores of 2 and 3 July 2012 (2,539 and 4,530 real persons)."""
    paths = make_paths(tmp_path)
    build_person_scores(higgs_raw, paths.warehouse, (JULY_2, JULY_3))
    return paths


@pytest.fixture
def unchanged_day(two_days: Paths) -> Paths:
    """3 July scored again as the previous day: a day identical to yesterday must pass everything."""
    execute(
        two_days,
        "delete from marts.fct_person_scores where score_date = date '2012-07-02'",
        "insert into marts.fct_person_scores select * replace (date '2012-07-02' as score_date) "
        "from marts.fct_person_scores where score_date = date '2012-07-03'",
    )
    return two_days


def test_unchanged_day_passes_every_check(unchanged_day: Paths) -> None:
    report = validate_marts(JULY_3, unchanged_day)
    assert [r for r in report.results if not r.success] == []
    assert {r.suite for r in report.results} == {"marts_person_scores", "marts_network_scores"}
    psi = next(r for r in report.results if r.check == PSI)
    assert psi.severity == "warning" and psi.observed.startswith("observed 0")
    assert report.data_docs is not None and "marts_person_scores" in report.data_docs.read_text()


def test_first_day_reports_previous_day_checks_as_not_compared(higgs_raw: Path, tmp_path: Path) -> None:
    paths = make_paths(tmp_path)
    build_person_scores(higgs_raw, paths.warehouse, (JULY_2,))
    report = validate_marts(JULY_2, paths)
    assert failed(report) == set()
    not_compared = {r.check for r in report.results if r.observed == "not compared: no rows for the previous day"}
    assert not_compared == {ROW_COUNT, PSI, MOVERS}


def test_real_consecutive_days_warn_but_never_block(two_days: Paths) -> None:
    # The Higgs rumour grows: 2,539 persons on 2 July, 4,530 on 3 July (+78%), and a one-day toy
    # score moves most persons seen on both days by more than 5 points. Same shape, though: PSI small.
    report = validate_marts(JULY_3, two_days)
    assert report.blocking_failures == []
    assert failed(report) == {(ROW_COUNT, "warning"), (MOVERS, "warning")}
    persons = next(w for w in report.warnings if w.check == ROW_COUNT)
    assert persons.observed == "observed 4530; previous day 2539 rows"
    psi = next(r for r in report.results if r.check == PSI)
    assert psi.success and float(psi.observed.split()[1].rstrip(";")) < 0.25


def test_score_above_100_is_an_error(unchanged_day: Paths) -> None:
    execute(unchanged_day, "update marts.fct_person_scores set score = 101 "
                           "where score_date = date '2012-07-03' and rank = 1")
    report = validate_marts(JULY_3, unchanged_day)
    assert ("expect_column_values_to_be_between(score)", "error") in failed(report)
    assert {r.severity for r in report.results if not r.success} == {"error"}


def test_duplicate_person_day_is_an_error(unchanged_day: Paths) -> None:
    execute(unchanged_day, "insert into marts.fct_person_scores select * from marts.fct_person_scores "
                           "where score_date = date '2012-07-03' and rank = 5 limit 1")
    report = validate_marts(JULY_3, unchanged_day)
    assert failed(report) == {("expect_compound_columns_to_be_unique(score_date, person_id)", "error")}


def test_rank_inconsistent_with_score_is_an_error(unchanged_day: Paths) -> None:
    # Swap ranks 1 and 2: the person with the higher score now ranks below the other.
    execute(unchanged_day, "update marts.fct_person_scores set rank = 3 - rank "
                           "where score_date = date '2012-07-03' and rank in (1, 2)")
    report = validate_marts(JULY_3, unchanged_day)
    assert failed(report) == {("expect_column_values_to_be_in_set(rank_order_consistent)", "error")}


def test_rank_gap_is_an_error(unchanged_day: Paths) -> None:
    execute(unchanged_day, "update marts.fct_person_scores set rank = rank + 1 "
                           "where score_date = date '2012-07-03' and rank >= 10")
    report = validate_marts(JULY_3, unchanged_day)
    assert failed(report) == {("expect_column_values_to_be_in_set(rank_without_gap)", "error")}


def test_distribution_drift_is_a_warning(unchanged_day: Paths) -> None:
    # Everyone gains: a monotone squeeze of the scale into 50-100 keeps ranks consistent but
    # moves the whole distribution away from yesterday's deciles.
    execute(unchanged_day, "update marts.fct_person_scores set score = 50 + score / 2 "
                           "where score_date = date '2012-07-03'")
    report = validate_marts(JULY_3, unchanged_day)
    assert report.blocking_failures == []
    assert failed(report) == {(PSI, "warning"), (MOVERS, "warning")}
    psi = next(w for w in report.warnings if w.check == PSI)
    assert float(psi.observed.split()[1].rstrip(";")) > 1


def test_losing_most_persons_is_a_warning(unchanged_day: Paths) -> None:
    # As if a source went missing: keep one person in five (by account id), ranks recomputed.
    execute(
        unchanged_day,
        "delete from marts.fct_person_scores where score_date = date '2012-07-03' "
        "and cast(split_part(person_id, ':', 2) as bigint) % 5 <> 0",
        "create temp table reranked as select person_id, "
        "cast(dense_rank() over (order by score desc) as integer) as new_rank "
        "from marts.fct_person_scores where score_date = date '2012-07-03'",
        "update marts.fct_person_scores s set rank = r.new_rank from reranked r "
        "where s.person_id = r.person_id and s.score_date = date '2012-07-03'",
    )
    report = validate_marts(JULY_3, unchanged_day)
    assert failed(report) == {(ROW_COUNT, "warning")}


def test_missing_model_version_is_an_error(unchanged_day: Paths) -> None:
    execute(unchanged_day, "update marts.fct_person_scores set model_version = null "
                           "where score_date = date '2012-07-03' and rank > 3")
    report = validate_marts(JULY_3, unchanged_day)
    # The unversioned rows are validated apart, under their own name, and block.
    assert ("marts_person_scores@missing", "expect_column_values_to_not_be_null(model_version)", "error") in failed(report)


def test_missing_mart_and_missing_warehouse_are_errors(tmp_path: Path) -> None:
    paths = make_paths(tmp_path)
    report = validate_marts(JULY_3, paths)
    assert [(r.check, r.severity, r.success) for r in report.results] == [("open warehouse", "error", False)]
    assert str(paths.warehouse) in report.results[0].observed

    paths.warehouse.parent.mkdir(parents=True)
    execute(paths, "create schema marts")
    report = validate_marts(JULY_3, paths)
    assert [(r.suite, r.check, r.severity) for r in report.blocking_failures] == [
        ("marts_network_scores", "read marts.fct_network_scores", "error"),
        ("marts_person_scores", "read marts.fct_person_scores", "error"),
    ]


def test_network_rank_inconsistent_with_score_is_an_error(unchanged_day: Paths) -> None:
    execute(unchanged_day, "update marts.fct_network_scores set network_rank = 3 - network_rank "
                           "where score_date = date '2012-07-03' and network_rank in (1, 2)")
    report = validate_marts(JULY_3, unchanged_day)
    assert failed(report, "marts_network_scores") == {
        ("expect_column_values_to_be_in_set(rank_order_consistent)", "error")
    }


def test_each_model_version_is_validated_against_its_own_previous_day(unchanged_day: Paths) -> None:
    # A new model version built beside the published one (same persons, other scale): not a
    # duplicate person-day, and with no 2.0.0 rows the day before, nothing to compare it with.
    execute(unchanged_day, "insert into marts.fct_person_scores select * replace "
                           "(least(100, score * 1.1) as score, '2.0.0' as model_version) "
                           "from marts.fct_person_scores where score_date = date '2012-07-03'")
    report = validate_marts(JULY_3, unchanged_day)
    assert [r for r in report.results if not r.success] == []
    assert {r.suite for r in report.results} == {
        "marts_person_scores@1.0.0", "marts_person_scores@2.0.0", "marts_network_scores"
    }
    not_compared = {r.check for r in report.results
                    if r.suite == "marts_person_scores@2.0.0" and r.observed.startswith("not compared")}
    assert not_compared == {ROW_COUNT, PSI, MOVERS}


def test_psi_matches_the_textbook_formula() -> None:
    # Yesterday's deciles of 1..100 put 10 scores in each bin; today the bottom half all score 1
    # (bin 1 holds 50%, bins 2-5 are empty: floored at 1e-4) and the top half stays (10% each).
    previous = pd.Series(range(1, 101), dtype=float)
    current = pd.Series([1.0] * 50 + list(range(51, 101)), dtype=float)
    expected = (0.5 - 0.1) * math.log(0.5 / 0.1) + 4 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert _population_stability_index(current, previous, 10) == pytest.approx(expected)
    assert _population_stability_index(previous, previous, 10) == 0
