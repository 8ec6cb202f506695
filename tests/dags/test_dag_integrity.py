"""The DAG files import cleanly, are wired as documented, and get Airflow 3's date semantics right."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from influence.settings import DAGS_DIR

UTC = dt.UTC


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags["influence_daily"]  # the parsed DAG itself; get_dag would consult the metadata DB


@pytest.fixture(scope="module")
def backfill_dag(dagbag):
    return dagbag.dags["influence_backfill"]


def test_dag_folder_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"influence_daily", "influence_backfill"}


@pytest.mark.parametrize("dag_file", ["influence_daily.py", "influence_backfill.py"])
def test_parsing_does_not_import_heavy_libraries(dag_file: str) -> None:
    # The DAG processor parses the file often; duckdb, dbt, GX and pyarrow belong inside tasks.
    import subprocess

    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]);"
        "print(','.join(m for m in ('duckdb','dbt','great_expectations','pyarrow','pandas') if m in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(DAGS_DIR / dag_file)],
        capture_output=True, text=True, check=True,
    )
    assert completed.stdout.strip().splitlines()[-1:] in ([], [""])


def test_tasks_and_dependencies(dag) -> None:
    assert set(dag.task_ids) == {"plan_sources", "extract", "validate_raw", "dbt_build", "validate_marts", "publish"}
    chain = ["plan_sources", "extract", "validate_raw", "dbt_build", "validate_marts", "publish"]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    # A topological order exists only without cycles.
    assert [t.task_id for t in dag.topological_sort()] == chain


def test_extract_is_mapped_over_sources(dag) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    assert isinstance(dag.get_task("extract"), MappedOperator)
    assert dag.params["sources"] == ["higgs", "stackexchange"]


def test_operational_settings(dag) -> None:
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert {"influence", "daily"} <= set(dag.tags)
    assert dag.doc_md and "data_interval_start" in dag.doc_md
    assert dag.start_date == dt.datetime(2012, 7, 1, tzinfo=UTC)
    for task in dag.tasks:
        assert task.retries == 2, task.task_id
        assert task.retry_delay >= dt.timedelta(seconds=30), task.task_id
        assert task.execution_timeout == dt.timedelta(hours=6), task.task_id  # a hung task frees the pool
        assert task.on_failure_callback, task.task_id
    warehouse_tasks = {t.task_id for t in dag.tasks if t.pool == "influence_warehouse"}
    # only the build: a run waiting in it for another run's publish must not block that publish
    assert warehouse_tasks == {"dbt_build"}


def test_ctrl_c_fails_a_task_for_good_and_a_crash_is_left_to_the_retries() -> None:
    """`influence run` runs each task in its own process, so Ctrl-C lands in the task: retried,
    like any unexpected error, it would start again a minute later instead of stopping the run."""
    from airflow.sdk.exceptions import AirflowFailException

    from influence.orchestration import call, failure_cause
    from influence.pipeline import one_line

    def interrupted() -> None:
        raise KeyboardInterrupt

    def crashed() -> None:
        raise OSError("disk full")

    with pytest.raises(AirflowFailException, match=r"interrupted \(Ctrl-C\)") as failed:
        call(interrupted)
    # the stage result and the audit row say so in words, not "KeyboardInterrupt:"
    assert one_line(failure_cause({"exception": failed.value})) == "interrupted (Ctrl-C)"
    assert one_line(KeyboardInterrupt()) == "interrupted (Ctrl-C)"
    with pytest.raises(OSError):
        call(crashed)


def _core_timetable(dag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    return coerce_to_core_timetable(dag.timetable)


def test_scheduled_run_for_a_day_covers_that_day(dag) -> None:
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = _core_timetable(dag)
    after_july_3 = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(dt.datetime(2012, 7, 3, tzinfo=UTC), dt.datetime(2012, 7, 4, tzinfo=UTC)),
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )
    assert after_july_3.data_interval.start == dt.datetime(2012, 7, 4, tzinfo=UTC)
    assert after_july_3.data_interval.end == dt.datetime(2012, 7, 5, tzinfo=UTC)
    assert after_july_3.logical_date == dt.datetime(2012, 7, 4, tzinfo=UTC)
    # ...and it only runs once the day is over.
    assert after_july_3.run_after == dt.datetime(2012, 7, 5, tzinfo=UTC)


def test_manual_run_as_influence_run_triggers_it_covers_the_previous_day(dag) -> None:
    # `influence run` passes logical date D+1 00:00 so that the interval is [D, D+1).
    interval = _core_timetable(dag).infer_manual_data_interval(run_after=dt.datetime(2012, 7, 5, tzinfo=UTC))
    assert (interval.start, interval.end) == (dt.datetime(2012, 7, 4, tzinfo=UTC), dt.datetime(2012, 7, 5, tzinfo=UTC))


def test_backfill_runs_the_same_stages_over_a_range(backfill_dag) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    chain = ["validate_raw_and_build", "validate_marts", "publish"]
    assert set(backfill_dag.task_ids) == {"plan_days", "plan_sources", "extract", *chain}
    assert isinstance(backfill_dag.get_task("extract"), MappedOperator)
    assert backfill_dag.get_task("extract").upstream_task_ids == {"plan_days", "plan_sources"}
    assert backfill_dag.get_task("validate_raw_and_build").upstream_task_ids == {"plan_days", "extract"}
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        assert backfill_dag.get_task(downstream).upstream_task_ids == {"plan_days", upstream}


def test_backfill_operational_settings(backfill_dag) -> None:
    assert type(backfill_dag.timetable).__name__ == "NullTimetable"  # triggered by hand, never scheduled
    assert backfill_dag.max_active_runs == 1
    assert {"influence", "backfill"} <= set(backfill_dag.tags)
    assert {"start", "end", "sources"} <= set(backfill_dag.params.keys())
    for task in backfill_dag.tasks:
        assert task.retries == 2, task.task_id
        assert task.execution_timeout == dt.timedelta(hours=24), task.task_id
        assert task.on_failure_callback, task.task_id
    assert {t.task_id for t in backfill_dag.tasks if t.pool == "influence_warehouse"} == {"validate_raw_and_build"}


def test_backfill_refuses_a_malformed_day(backfill_dag) -> None:
    import copy

    params = copy.deepcopy(backfill_dag.params)
    params["start"] = "2018-03-12"
    with pytest.raises(Exception, match="does not match"):
        params["end"] = "12/03/2018"
