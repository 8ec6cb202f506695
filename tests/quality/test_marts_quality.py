"""validate_marts on a working warehouse whose marts.fct_person_scores ranks real Higgs accounts."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from quality_helpers import JULY_2, JULY_3, build_person_scores, make_paths

from influence.quality import (
    _ROW_ID,
    QualityReport,
    _MartQuery,
    _population_stability_index,
    _quantile_edges,
    _quantile_positions,
    _rank_helpers,
    validate_marts,
)
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


def copy_scores_as_version(paths: Paths, day: str, version: str, score: str = "score") -> None:
    """Add the person scores of ``day`` again as model ``version``, each score as the SQL ``score``."""
    literal = version.replace("'", "''")
    execute(paths, f"insert into marts.fct_person_scores select * replace ({score} as score, '{literal}' as model_version) "
                   f"from marts.fct_person_scores where score_date = date '{day}'")


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


def test_a_day_given_as_a_pendulum_date_passes_like_a_plain_date(unchanged_day: Paths) -> None:
    # The DAG's days come from Airflow's data interval: pendulum Dates, a subclass of date.
    import pendulum

    report = validate_marts(pendulum.date(2012, 7, 3), unchanged_day)
    assert [r for r in report.results if not r.success] == []


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
    copy_scores_as_version(unchanged_day, "2012-07-03", "2.0.0", score="least(100, score * 1.1)")
    report = validate_marts(JULY_3, unchanged_day)
    assert [r for r in report.results if not r.success] == []
    assert {r.suite for r in report.results} == {
        "marts_person_scores@1.0.0", "marts_person_scores@2.0.0", "marts_network_scores"
    }
    not_compared = {r.check for r in report.results
                    if r.suite == "marts_person_scores@2.0.0" and r.observed.startswith("not compared")}
    assert not_compared == {ROW_COUNT, PSI, MOVERS}


def test_a_day_with_one_version_is_compared_with_that_version_only(unchanged_day: Paths) -> None:
    # The day after a new version was built beside the published one: yesterday holds both, today
    # only 1.0.0. Compared with both, yesterday's row count doubles and its halved 2.0.0 scores
    # shift the score distribution (a PSI warning); compared with 1.0.0 only, the day is unchanged.
    copy_scores_as_version(unchanged_day, "2012-07-02", "2.0.0", score="greatest(1, score * 0.5)")
    report = validate_marts(JULY_3, unchanged_day)
    assert [r for r in report.results if not r.success] == []
    assert {r.suite for r in report.results} == {"marts_person_scores", "marts_network_scores"}


def test_a_model_version_that_needs_quoting_is_validated(unchanged_day: Paths) -> None:
    # The validated rows become a table named after the version in the scratch database.
    version = """2.0.0-"rc'1"""
    copy_scores_as_version(unchanged_day, "2012-07-03", version)
    report = validate_marts(JULY_3, unchanged_day)
    assert [r for r in report.results if not r.success] == []
    assert {r.suite for r in report.results} == {
        "marts_person_scores@1.0.0", f"marts_person_scores@{version}", "marts_network_scores"
    }


def test_validation_detaches_the_warehouse_and_removes_its_scratch_database(
    unchanged_day: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch: list[str] = []
    make_directory = tempfile.mkdtemp

    def recorded(*args: Any, **kwargs: Any) -> str:
        scratch.append(make_directory(*args, **kwargs))
        return scratch[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recorded)
    validate_marts(JULY_3, unchanged_day)
    assert scratch and not any(Path(directory).exists() for directory in scratch)
    # Still attached in this process, DuckDB would refuse to open the file again ("already attached").
    execute(unchanged_day, "update marts.fct_person_scores set score = score where rank = 1")


# --------------------------------------------------------------------------- helpers in SQL


class DuckDB:
    """The ``execute`` of the validator, over a plain in-memory DuckDB connection."""

    def __init__(self) -> None:
        self.connection = duckdb.connect()

    def execute(self, statement: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.connection.execute(statement, parameters).fetchall()


def numpy_psi(current: np.ndarray, previous: np.ndarray, bins: int) -> float:
    """The PSI as the pandas implementation computed it before the mart checks moved to DuckDB:
    np.quantile edges, np.histogram counts."""
    edges = np.unique(np.quantile(previous, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = np.concatenate([[-np.inf], edges, [np.inf]])
    current_share = np.clip(np.histogram(current, bins=edges)[0] / max(len(current), 1), 1e-4, None)
    previous_share = np.clip(np.histogram(previous, bins=edges)[0] / max(len(previous), 1), 1e-4, None)
    return float(np.sum((current_share - previous_share) * np.log(current_share / previous_share)))


def sql_psi(current: np.ndarray, previous: np.ndarray, bins: int = 10) -> float:
    database = DuckDB()
    for name, values in (("today_scores", current), ("previous_scores", previous)):
        database.connection.execute(f"create table {name} (score double)")
        database.connection.executemany(f"insert into {name} values (?)", [[float(v)] for v in values])
    return _population_stability_index(
        database, "select * from today_scores", "select * from previous_scores", "score", bins  # type: ignore[arg-type]
    )


def test_psi_matches_the_textbook_formula() -> None:
    # Yesterday's deciles of 1..100 put 10 scores in each bin; today the bottom half all score 1
    # (bin 1 holds 50%, bins 2-5 are empty: floored at 1e-4) and the top half stays (10% each).
    previous = np.arange(1, 101, dtype=float)
    current = np.array([1.0] * 50 + list(range(51, 101)), dtype=float)
    expected = (0.5 - 0.1) * math.log(0.5 / 0.1) + 4 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert sql_psi(current, previous) == pytest.approx(expected)
    assert sql_psi(previous, previous) == 0


def test_psi_in_duckdb_equals_the_numpy_psi() -> None:
    generator = np.random.default_rng(7)
    cases = [
        # 11 values: the 0.3 quantile's index is 3.0000000000000004 in floating point, so NumPy's
        # edge lies just above the 4th value (1.0) and the 1.0s of today fall in the bin below it;
        # an edge of exactly 1.0 (DuckDB's quantile_cont) would put them in the bin above.
        (np.array([1.0] * 12 + [50.0] * 3), np.array([0.5, 0.6, 0.7, 1.0, 100.0, 100, 100, 100, 100, 100, 100])),
        # Scores rounded to 4 decimals with many ties, as the marts publish them.
        (np.round(generator.uniform(1, 100, 5000) ** 1.3 / 100 ** 0.3, 1),
         np.round(generator.uniform(1, 100, 4000) ** 1.2 / 100 ** 0.2, 1)),
        (np.round(generator.normal(50, 10, 3000), 4), np.round(generator.normal(55, 12, 2999), 4)),
        # A previous day of one score (one bin) and of one row.
        (np.array([1.0, 2.0, 3.0]), np.array([2.0] * 20)),
        (np.array([1.0, 2.0, 3.0]), np.array([2.5])),
    ]
    for current, previous in cases:
        for bins in (10, 4):
            assert sql_psi(current, previous, bins) == pytest.approx(numpy_psi(current, previous, bins), abs=1e-9)
    first = sql_psi(*cases[0])
    assert first > 1 and first == pytest.approx(numpy_psi(*cases[0], 10), abs=1e-12)


def test_quantile_edges_are_numpys_bit_for_bit() -> None:
    generator = np.random.default_rng(11)
    for size in (1, 2, 3, 7, 10, 11, 21, 101, 1000, 12345):
        values = np.sort(np.round(generator.exponential(20, size), int(generator.integers(0, 5))))
        for bins in (10, 4, 3):
            lower, upper, gamma = _quantile_positions(size, bins)
            statistics = {int(i): float(values[i]) for i in (*lower, *upper)}
            expected = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
            assert _quantile_edges(statistics, lower, upper, gamma).tolist() == expected.tolist()


CRAFTED = [
    # (network, id, rank, score)
    ("a", 1, 1, 90.0), ("a", 2, 2, 80.0), ("a", 3, 2, 80.0), ("a", 4, 3, 70.0),  # dense, with a tie
    ("b", 5, 1, 50.0), ("b", 6, 2, 60.0),  # rank 2 scores more than rank 1
    ("c", 7, 1, 40.0), ("c", 8, 1, 30.0),  # a shared rank with two scores
    ("d", 9, 1, 20.0), ("d", 10, 3, 10.0),  # rank 2 skipped
    ("f", 13, 1, 9.0), ("f", 14, 1, 9.0), ("f", 15, 3, 8.0),  # a skipping RANK(): 3 > 2 distinct ranks
    (None, 11, 1, 5.0),  # a null partition is a partition
    ("e", 12, None, 5.0),  # a null rank is no rank
]
# id -> (rank_order_consistent, rank_tie_same_score, rank_without_gap), per network
EXPECTED_PER_NETWORK = {
    1: (True, True, True), 2: (True, True, True), 3: (True, True, True), 4: (True, True, True),
    5: (True, True, True), 6: (False, True, True),
    7: (True, False, True), 8: (True, False, True),
    9: (True, True, True), 10: (True, True, False),
    13: (True, True, True), 14: (True, True, True), 15: (True, True, False),
    11: (True, True, True),
    12: (True, True, False),
}


def rank_flags(rows: list[tuple[Any, ...]], partition_by: list[str]) -> dict[int, tuple[bool, ...]]:
    connection = duckdb.connect()
    connection.execute("create table crafted (network varchar, id integer, rank integer, score double)")
    connection.executemany("insert into crafted values (?, ?, ?, ?)", rows)
    query = _MartQuery(f"select rowid as {_ROW_ID}, * from crafted")
    rank = {"column": "rank", "score_column": "score", "partition_by": partition_by}
    _rank_helpers(query, rank, ["network", "id", "rank", "score"])
    result = connection.execute(
        f"select id, rank_order_consistent, rank_tie_same_score, rank_without_gap from ({query.sql()})"
    ).fetchall()
    assert len(result) == len(rows)
    return {row[0]: tuple(row[1:]) for row in result}


def test_rank_helpers_flag_crafted_violations() -> None:
    assert rank_flags(CRAFTED, ["network"]) == EXPECTED_PER_NETWORK
    # One ranking over every row: a consistent one passes, one swapped pair fails.
    ranked = [("x", i, i, 100.0 - i) for i in range(1, 6)]
    assert set(rank_flags(ranked, []).values()) == {(True, True, True)}
    swapped = [("x", i, {2: 3, 3: 2}.get(i, i), 100.0 - i) for i in range(1, 6)]
    flags = rank_flags(swapped, [])
    assert [i for i, (consistent, _, _) in flags.items() if not consistent] == [2]
    assert all(tie and gap for _, tie, gap in flags.values())
