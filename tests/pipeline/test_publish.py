"""Write–audit–publish without Airflow or dbt: the working warehouse is a small DuckDB file with a
`marts` schema, built here the way dbt leaves it; the pipeline functions under test are the real ones."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from influence import audit, pipeline, publish, quality
from influence.errors import PublishError, QualityGateError, WarehouseBusyError
from influence.settings import Paths

DAY_1 = dt.date(2012, 7, 1)
DAY_2 = dt.date(2012, 7, 2)


def build_warehouse(paths: Paths, day: dt.date, persons: int, run_id: str) -> None:
    """What a successful dbt build leaves: marts for `day` replaced, the build marker naming the run.
    Both marts get the same number of rows per day, so a reader can tell a consistent version."""
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.warehouse)) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS marts.fct_person_scores (score_date DATE, person_id VARCHAR, score DOUBLE, rank INTEGER)"
        )
        connection.execute("CREATE TABLE IF NOT EXISTS marts.dim_persons (person_id VARCHAR, first_seen DATE)")
        connection.execute("DELETE FROM marts.fct_person_scores WHERE score_date = ?", [day])
        connection.execute(
            "INSERT INTO marts.fct_person_scores SELECT ?, 'twitter:' || i, 100.0 - i * 99.0 / ?, i + 1 FROM range(?) t(i)",
            [day, persons, persons],
        )
        connection.execute("DELETE FROM marts.dim_persons")
        connection.execute("INSERT INTO marts.dim_persons SELECT DISTINCT person_id, min(score_date) FROM marts.fct_person_scores GROUP BY ALL")
    pipeline._write_build_marker(paths, run_id, [day], "built")


def published_rows(paths: Paths) -> list[tuple]:
    with duckdb.connect(str(paths.published_db), read_only=True) as connection:
        return connection.execute("SELECT * FROM fct_person_scores ORDER BY ALL").fetchall()


def test_publish_writes_every_mart_to_parquet_behind_duckdb_views(data_paths: Paths) -> None:
    build_warehouse(data_paths, DAY_1, persons=50, run_id="run-1")
    result = pipeline.publish(DAY_1, "run-1")

    assert result["persons_scored"] == 50
    version = publish.current_version(data_paths.published)
    with duckdb.connect(str(data_paths.published_db), read_only=True) as connection:
        tables = dict(connection.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        assert tables == {"fct_person_scores": "VIEW", "dim_persons": "VIEW", "run_audit": "VIEW"}
        # The views read their own version's files, with the warehouse's column types.
        assert str(version / "parquet" / "fct_person_scores") in connection.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'fct_person_scores'").fetchone()[0]
        assert connection.execute("DESCRIBE fct_person_scores").fetchall()[0][:2] == ("score_date", "DATE")
        status, persons, mart_rows = connection.execute(
            "SELECT status, persons_scored, mart_rows FROM run_audit"
        ).fetchone()
    assert (status, persons) == ("published", 50)
    assert mart_rows == {"dim_persons": 50, "fct_person_scores": 50}
    mirror = data_paths.published_parquet
    # Both stable names lead into the one current version.
    assert data_paths.published_db.resolve() == (version / "influence.duckdb").resolve()
    assert mirror.resolve() == (version / "parquet").resolve()
    assert (version / publish.SUCCESS_MARKER).exists()
    assert sorted(p.name for p in (mirror / "fct_person_scores").iterdir()) == ["2012-07-01.parquet"]
    assert pq.read_table(mirror / "fct_person_scores" / "2012-07-01.parquet").num_rows == 50
    assert pq.read_table(mirror / "dim_persons" / "data.parquet").num_rows == 50
    assert pq.read_table(mirror / "run_audit" / "data.parquet").num_rows == 1


def test_a_run_publishes_only_the_day_it_audited(data_paths: Paths) -> None:
    """Day 2 fails its audit and stays in the working warehouse; day 3's run must not publish it."""
    build_warehouse(data_paths, DAY_1, persons=10, run_id="run-1")
    pipeline.publish(DAY_1, "run-1")
    build_warehouse(data_paths, DAY_2, persons=20, run_id="run-2")  # audit failed: never published
    day_3 = DAY_2 + dt.timedelta(days=1)
    build_warehouse(data_paths, day_3, persons=30, run_id="run-3")
    pipeline.publish(day_3, "run-3")

    with duckdb.connect(str(data_paths.published_db), read_only=True) as connection:
        per_day = connection.execute("SELECT score_date, count(*) FROM fct_person_scores GROUP BY 1 ORDER BY 1").fetchall()
    assert per_day == [(DAY_1, 10), (day_3, 30)]
    files = sorted(p.name for p in (data_paths.published_parquet / "fct_person_scores").iterdir())
    assert files == ["2012-07-01.parquet", "2012-07-03.parquet"]
    # The unchanged day file is the previous version's file, hard-linked, not rewritten.
    assert (data_paths.published_parquet / "fct_person_scores" / "2012-07-01.parquet").stat().st_nlink == 2


def test_reader_holding_the_published_file_keeps_the_old_version(data_paths: Paths) -> None:
    build_warehouse(data_paths, DAY_1, persons=10, run_id="run-1")
    pipeline.publish(DAY_1, "run-1")
    reader = duckdb.connect(str(data_paths.published_db), read_only=True)
    try:
        build_warehouse(data_paths, DAY_2, persons=20, run_id="run-2")
        pipeline.publish(DAY_2, "run-2")
        # The open reader still sees the complete old version; a new reader sees the complete new one.
        assert reader.execute("SELECT count(*) FROM fct_person_scores").fetchone()[0] == 10
        assert reader.execute("SELECT count(*) FROM run_audit").fetchone()[0] == 1
    finally:
        reader.close()
    assert len(published_rows(data_paths)) == 30


def test_concurrent_readers_never_see_a_mix(data_paths: Paths) -> None:
    """Readers open the published DuckDB file and the Parquet mirror over and over while versions are
    swapped in. Within one opening of the database, marts and audit belong to one version; and a
    reader that resolves `current` once sees a database and a Parquet mirror of the same version
    (they are swapped together, not one after the other)."""
    build_warehouse(data_paths, DAY_1, persons=5, run_id="run-0")
    pipeline.publish(DAY_1, "run-0")
    observations: list[tuple[int, int, int]] = []
    problems: list[str] = []
    stop = threading.Event()

    def read_repeatedly() -> None:
        while not stop.is_set():
            try:
                with duckdb.connect(str(data_paths.published_db), read_only=True) as connection:
                    observations.append(connection.execute(
                        "SELECT (SELECT count(*) FROM fct_person_scores WHERE score_date = DATE '2012-07-01'),"
                        " (SELECT count(*) FROM dim_persons), (SELECT count(*) FROM run_audit)"
                    ).fetchone())
                version = data_paths.published.joinpath("current").resolve()
                with duckdb.connect(str(version / "influence.duckdb"), read_only=True) as connection:
                    in_database = connection.execute("SELECT count(*) FROM dim_persons").fetchone()[0]
                scores = pq.read_table(version / "parquet" / "fct_person_scores" / "2012-07-01.parquet").num_rows
                persons = pq.read_table(version / "parquet" / "dim_persons" / "data.parquet").num_rows
                if not scores == persons == in_database:
                    problems.append(f"version {version.name}: parquet {scores} scores, {persons} persons;"
                                    f" database {in_database} persons")
            except Exception as error:  # noqa: BLE001 - any failure to read is what this test looks for
                problems.append(repr(error))

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        for version in range(1, 8):
            build_warehouse(data_paths, DAY_1, persons=5 + version * 40, run_id=f"run-{version}")
            pipeline.publish(DAY_1, f"run-{version}")
    finally:
        stop.set()
        reader.join()
    assert problems == []
    assert len(observations) > 5
    for scores, persons, audit_rows in observations:
        # Version v has 5 + 40 v persons and v + 1 audit rows: all three numbers must agree.
        assert scores == persons
        assert audit_rows == (scores - 5) // 40 + 1
    assert len({o[0] for o in observations}) >= 2, "the reader never saw a swap"


def test_a_reader_keeps_its_version_through_later_publishes_for_the_grace_period(
    data_paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The published tables are views over their version's Parquet files, so a version must outlive
    its readers: it is kept for the grace period after it was superseded (the previous one always)."""
    build_warehouse(data_paths, DAY_1, persons=10, run_id="run-1")
    pipeline.publish(DAY_1, "run-1")
    first = publish.current_version(data_paths.published)
    reader = duckdb.connect(str(data_paths.published_db), read_only=True)
    try:
        for number, day in enumerate((DAY_2, DAY_2 + dt.timedelta(days=1), DAY_2 + dt.timedelta(days=2)), start=2):
            build_warehouse(data_paths, day, persons=10 * number, run_id=f"run-{number}")
            pipeline.publish(day, f"run-{number}")
        assert reader.execute("SELECT count(*), max(score_date) FROM fct_person_scores").fetchone() == (10, DAY_1)
        assert len(list((data_paths.published / publish.VERSIONS).iterdir())) == 4

        monkeypatch.setenv(publish.GRACE_HOURS_VARIABLE, "0")
        day_5 = DAY_2 + dt.timedelta(days=3)
        build_warehouse(data_paths, day_5, persons=50, run_id="run-5")
        pipeline.publish(day_5, "run-5")
    finally:
        reader.close()
    kept = sorted((data_paths.published / publish.VERSIONS).iterdir())
    assert len(kept) == 2 and publish.current_version(data_paths.published) in kept, "current and previous only"
    assert not first.exists()
    assert len(published_rows(data_paths)) == 10 + 20 + 30 + 40 + 50


def test_a_bad_grace_period_is_a_clear_error(data_paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    build_warehouse(data_paths, DAY_1, persons=10, run_id="run-1")
    monkeypatch.setenv(publish.GRACE_HOURS_VARIABLE, "a day")
    with pytest.raises(PublishError, match="INFLUENCE_PUBLISHED_GRACE_HOURS='a day': not a number of hours"):
        pipeline.publish(DAY_1, "run-1")


def test_a_mart_whose_columns_change_is_written_whole_and_an_empty_one_keeps_its_columns(data_paths: Paths) -> None:
    build_warehouse(data_paths, DAY_1, persons=10, run_id="run-1")
    pipeline.publish(DAY_1, "run-1")
    build_warehouse(data_paths, DAY_2, persons=20, run_id="run-2")
    with duckdb.connect(str(data_paths.warehouse)) as connection:  # what a new model version's build leaves
        connection.execute("ALTER TABLE marts.fct_person_scores ADD COLUMN tier VARCHAR DEFAULT 'floor'")
        connection.execute("CREATE TABLE marts.fct_score_percentiles (score_date DATE, scope VARCHAR, p50 DOUBLE)")
    pipeline.publish(DAY_2, "run-2")

    with duckdb.connect(str(data_paths.published_db), read_only=True) as connection:
        per_day = connection.execute(
            "SELECT score_date, count(*), min(tier) FROM fct_person_scores GROUP BY 1 ORDER BY 1").fetchall()
        percentiles = connection.execute("DESCRIBE fct_score_percentiles").fetchall()
        assert connection.execute("SELECT count(*) FROM fct_score_percentiles").fetchone() == (0,)
    assert per_day == [(DAY_1, 10, "floor"), (DAY_2, 20, "floor")]
    assert [(name, kind) for name, kind, *_ in percentiles] == [("score_date", "DATE"), ("scope", "VARCHAR"), ("p50", "DOUBLE")]
    # Day 1 was rewritten with the new column, not linked from the previous version.
    assert (data_paths.published_parquet / "fct_person_scores" / "2012-07-01.parquet").stat().st_nlink == 1


def test_failed_mart_audit_leaves_published_marts_untouched(data_paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    build_warehouse(data_paths, DAY_1, persons=10, run_id="run-1")
    pipeline.publish(DAY_1, "run-1")
    before = published_rows(data_paths)

    build_warehouse(data_paths, DAY_2, persons=30, run_id="run-2")

    def failing_report(day: dt.date, paths: Paths) -> quality.QualityReport:
        return quality.QualityReport(
            stage="marts", day=day, data_docs=None,
            results=[
                quality.CheckResult("marts_person_scores", "expect_column_values_to_be_between(score)", "error", False,
                                    "3 of 30 scores outside 1..100"),
                quality.CheckResult("marts_person_scores", "persons vs yesterday", "warning", False, "+200%"),
            ],
        )

    monkeypatch.setattr(quality, "validate_marts", failing_report)
    with pytest.raises(QualityGateError, match=r"marts_person_scores: expect_column_values_to_be_between\(score\): 3 of 30"):
        pipeline.validate_marts(DAY_2, "run-2")
    row = pipeline.record_failure(DAY_2, "run-2", "validate_marts", "marts checks failed")
    # another task of the same run failing too (both mapped extracts, say) does not record it twice
    assert pipeline.record_failure(DAY_2, "run-2", "extract-stackexchange", "disk full") is None

    assert published_rows(data_paths) == before
    assert row.checks_failed == 1 and row.checks_warned == 1
    with duckdb.connect(str(data_paths.published_db), read_only=True) as connection:
        audit_rows = connection.execute("SELECT run_id, status, failed_stage, error FROM run_audit ORDER BY finished_at").fetchall()
    assert audit_rows == [
        ("run-1", "published", None, None),
        ("run-2", "failed", "validate_marts", "marts checks failed"),
    ]
    # The stage record is what `influence run` reports as the one-line reason.
    stage = audit.read_stage_results(audit.run_directory(data_paths, DAY_2, "run-2"))["validate_marts"]
    assert stage["status"] == "failed" and "3 of 30 scores" in stage["error"]


def test_publish_refuses_a_warehouse_rebuilt_by_another_run(data_paths: Paths) -> None:
    build_warehouse(data_paths, DAY_1, persons=10, run_id="run-1")
    pipeline.publish(DAY_1, "run-1")
    build_warehouse(data_paths, DAY_2, persons=10, run_id="run-2")
    with pytest.raises(pipeline.StaleBuildError, match="last built by run run-2"):
        pipeline.publish(DAY_1, "run-1")
    assert len(published_rows(data_paths)) == 10


def test_killed_publish_leftovers_are_cleaned_and_published_stays_readable(data_paths: Paths) -> None:
    build_warehouse(data_paths, DAY_1, persons=10, run_id="run-1")
    pipeline.publish(DAY_1, "run-1")
    # What a publish killed half-way leaves: an unfinished version (half a database, part of the
    # Parquet mirror, no _SUCCESS) and the temporary link it was about to swap in.
    unfinished = data_paths.published / publish.VERSIONS / "20990101T000000Z-1"
    (unfinished / "parquet" / "fct_person_scores").mkdir(parents=True)
    (unfinished / "influence.duckdb").write_bytes(b"half a database")
    leftover_link = data_paths.published / f"{publish.TEMPORARY_PREFIX}20990101T000000Z-1.link"
    leftover_link.symlink_to(Path(publish.VERSIONS) / unfinished.name)
    assert len(published_rows(data_paths)) == 10

    build_warehouse(data_paths, DAY_2, persons=5, run_id="run-2")
    pipeline.publish(DAY_2, "run-2")
    assert not leftover_link.is_symlink()
    assert not unfinished.exists()
    assert len(published_rows(data_paths)) == 15


def test_second_run_waits_for_the_lock_then_proceeds(data_paths: Paths) -> None:
    # events, not sleeps, order the two threads: a loaded CI machine may start the holder late
    held, releasing = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with pipeline.warehouse_lock(data_paths, "run-A", "dbt_build"):
            held.set()
            time.sleep(1.0)
            releasing.set()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert held.wait(timeout=30)
    started = time.monotonic()
    with pipeline.warehouse_lock(data_paths, "run-B", "dbt_build", timeout_seconds=10):
        waited = time.monotonic() - started
        assert releasing.is_set()
    holder.join()
    assert 0.5 < waited < 5


def test_second_run_stops_with_a_clear_message_when_the_lock_stays_busy(data_paths: Paths) -> None:
    with pipeline.warehouse_lock(data_paths, "run-A", "publish"):
        with pytest.raises(WarehouseBusyError) as raised:
            with pipeline.warehouse_lock(data_paths, "run-B", "dbt_build", timeout_seconds=0.3):
                pass
    message = str(raised.value)
    assert "\n" not in message
    assert "run run-A (publish, pid" in message and "busy" in message
    # Released: the next run gets it at once.
    with pipeline.warehouse_lock(data_paths, "run-C", "dbt_build", timeout_seconds=0):
        pass


def test_audit_log_survives_a_torn_last_line(data_paths: Paths) -> None:
    build_warehouse(data_paths, DAY_1, persons=3, run_id="run-1")
    pipeline.publish(DAY_1, "run-1")
    with open(data_paths.runs / audit.AUDIT_LOG_NAME, "a") as log:
        log.write('{"run_id": "killed-mid-wri')
    assert [row["run_id"] for row in audit.read_audit_log(data_paths)] == ["run-1"]
    pipeline.record_failure(DAY_2, "run-2", "extract-higgs", "data/samples/higgs/x.gz: truncated gzip")
    assert [row["run_id"] for row in audit.read_audit_log(data_paths)] == ["run-1", "run-2"]


def test_a_run_for_another_day_waits_for_the_unpublished_build_before_building(
    data_paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill and the daily schedule share the warehouse: a build waiting for its audit and
    publish is leased to its run, so another day's run waits instead of overwriting it (which
    made both runs fail). A failure releases the lease too; a rerun of the same day takes it over."""
    from influence import dbt

    built: list[str] = []

    def fake_build_days(days: list[dt.date], paths: Paths, run_dir: Path, gate: dbt.DayGate | None = None,
                        on_day_built: object = None) -> dbt.DbtBuildResult:
        built.extend(day.isoformat() for day in days)
        return dbt.DbtBuildResult(seconds=0.0, node_seconds={}, status_counts={"success": 1})

    monkeypatch.setattr(dbt, "build_days", fake_build_days)
    monkeypatch.setenv("INFLUENCE_LOCK_TIMEOUT_SECONDS", "1")
    build_warehouse(data_paths, DAY_1, persons=10, run_id="backfill-1")
    with pytest.raises(WarehouseBusyError, match="run backfill-1 built 2012-07-01 and has not audited and published it yet"):
        pipeline.dbt_build(DAY_2, "scheduled-2")
    assert built == []

    pipeline.dbt_build(DAY_1, "rerun-1")  # the same day supersedes the unpublished build
    assert built == ["2012-07-01"]

    monkeypatch.setenv("INFLUENCE_LOCK_TIMEOUT_SECONDS", "60")
    waiting = threading.Thread(target=pipeline.dbt_build, args=(DAY_2, "scheduled-2"))
    waiting.start()
    time.sleep(1.5)
    assert built == ["2012-07-01"], "built over a build that was not yet published"
    pipeline.record_failure(DAY_1, "rerun-1", "validate_marts", "marts checks failed")
    waiting.join(timeout=30)
    assert built == ["2012-07-01", "2012-07-02"]

    build_warehouse(data_paths, DAY_2, persons=5, run_id="scheduled-2")
    pipeline.publish(DAY_2, "scheduled-2")
    monkeypatch.setenv("INFLUENCE_LOCK_TIMEOUT_SECONDS", "1")
    pipeline.dbt_build(DAY_1, "next-1")  # a published build no longer holds the lease
    assert built == ["2012-07-01", "2012-07-02", "2012-07-01"]


def check_day_or_fail_on_the_4th(day: dt.date, run_id: str, paths: Paths) -> dict[str, object]:
    """A check step for `_for_each_day` (module level: worker processes import it by name)."""
    if day.day == 4:
        raise QualityGateError(f"raw checks for {day} failed: raw_twitter_events: expect_x: 3 rows")
    return {"day": day.isoformat(), "worker": os.getpid()}


def check_day_slowly(day: dt.date, run_id: str, paths: Paths) -> dict[str, object]:
    time.sleep(0.2)
    return {"day": day.isoformat(), "worker": os.getpid()}


def test_checks_of_several_days_run_in_worker_processes_and_a_failure_stops_the_range(
    data_paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFLUENCE_CHECK_WORKERS", "2")
    days = [dt.date(2012, 7, day) for day in (3, 1, 2, 5)]
    results = pipeline._for_each_day(check_day_or_fail_on_the_4th, days, "range-run", data_paths, "validate_raw")
    assert [r["day"] for r in results] == ["2012-07-01", "2012-07-02", "2012-07-03", "2012-07-05"]  # in day order
    assert os.getpid() not in {r["worker"] for r in results}

    days = [dt.date(2012, 7, day) for day in range(1, 9)]
    with pytest.raises(QualityGateError, match=r"^raw checks for 2012-07-04 failed: raw_twitter_events"):
        pipeline._for_each_day(check_day_or_fail_on_the_4th, days, "range-run", data_paths, "validate_raw")


def test_checks_report_each_passed_day_and_stop_when_the_build_has_ended(
    data_paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `validate_raw_and_build_days` relies on: each passed day is reported as it passes, and
    once the build has ended (failed) the days not started are not checked."""
    days = [dt.date(2012, 7, day) for day in (1, 2, 3, 5, 6, 7, 8)]
    for workers in (1, 2):
        passed: list[dt.date] = []
        build_ended = threading.Event()

        def report(day: dt.date, passed: list[dt.date] = passed, build_ended: threading.Event = build_ended) -> None:
            passed.append(day)
            if len(passed) == 2:
                build_ended.set()

        results = pipeline._for_each_day(check_day_slowly, days, "range-run", data_paths,
                                         "validate_raw", workers=workers, on_day=report, stop=build_ended)
        assert 2 <= len(results) < len(days) and len(passed) == len(results), workers
        assert [r["day"] for r in results] == [day.isoformat() for day in sorted(passed)], workers


def test_the_build_gate_lets_each_day_through_once_checked_and_fails_at_the_first_failed_check() -> None:
    gate = pipeline._RawChecksGate()
    first, second, third = (dt.date(2012, 7, day) for day in (1, 2, 3))
    gate.passed(first)
    assert gate(first, 0.0) is True
    assert gate(second, 0.05) is False  # not checked yet: the build waits
    threading.Timer(0.3, gate.passed, [second]).start()
    waited = time.monotonic()
    assert gate(second, 10.0) is True and time.monotonic() - waited >= 0.25
    gate.failed(QualityGateError("raw checks for 2012-07-03 failed: raw_twitter_events: expect_x: 3 rows"))
    with pytest.raises(QualityGateError, match="raw checks for 2012-07-03 failed"):
        gate(third, 10.0)
    with pytest.raises(QualityGateError):
        gate(second, 0.0)  # the range has failed: nothing more is worth building


def test_a_range_is_published_at_once_with_an_audit_row_per_day(data_paths: Paths) -> None:
    """The backfill publishes its days in one version: both days' rows and Parquet files, one
    audit row per day, and a day published before stays as it was."""
    build_warehouse(data_paths, DAY_1, persons=8, run_id="daily-1")
    pipeline.publish(DAY_1, "daily-1")
    day_3 = dt.date(2012, 7, 3)
    build_warehouse(data_paths, DAY_2, persons=6, run_id="backfill")
    build_warehouse(data_paths, day_3, persons=4, run_id="backfill")
    with duckdb.connect(str(data_paths.warehouse)) as connection:  # an unaudited change to day 1
        connection.execute("UPDATE marts.fct_person_scores SET score = 1.0 WHERE score_date = ?", [DAY_1])
    pipeline._write_build_marker(data_paths, "backfill", [DAY_2, day_3], "built")

    result = pipeline.publish_days([day_3, DAY_2], "backfill")

    assert result["persons_scored"] == {"2012-07-02": 6, "2012-07-03": 4}
    rows = published_rows(data_paths)
    assert [row for row in rows if row[0] == DAY_1 and row[2] == 1.0] == [], "day 1 was not part of the range"
    assert sorted({row[0] for row in rows}) == [DAY_1, DAY_2, day_3]
    log = audit.read_audit_log(data_paths)
    assert [(row["run_id"], row["day"], row["persons_scored"]) for row in log] == [
        ("daily-1", "2012-07-01", 8), ("backfill", "2012-07-02", 6), ("backfill", "2012-07-03", 4)]
    mirror = data_paths.published_parquet / "fct_person_scores"
    assert {p.name: pq.read_table(p).num_rows for p in mirror.iterdir()} == {
        "2012-07-01.parquet": 8, "2012-07-02.parquet": 6, "2012-07-03.parquet": 4}
    assert pipeline._read_build_marker(data_paths) == {
        "run_id": "backfill", "day": "2012-07-02..2012-07-03", "state": "published"}
