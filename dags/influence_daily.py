"""influence_daily: one run per UTC day; extract → validate raw → dbt build → validate marts → publish.

Thin on purpose: every task calls one function of `influence.pipeline` (plain Python, tested
without Airflow). Heavy libraries (DuckDB, dbt, Great Expectations, pyarrow) are imported inside
those functions, so parsing this file stays cheap for the DAG processor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from influence.orchestration import DAILY_TASK_TIMEOUT, RETRY_POLICY, START_DATE, WAREHOUSE_POOL, call, failure_cause, sources_param

DOC_MD = """
### influence_daily

Scores one **UTC day** of social activity: the run for the data interval `[D, D+1)` processes day
`D` (`data_interval_start`). A scheduled run for 2012-07-04 starts after 2012-07-05 00:00 UTC.
A manual trigger with logical date `D+1 00:00` also covers `[D, D+1)`
(`CronDataIntervalTimetable` infers the last complete interval); `influence run` does exactly that.

| task | does |
|---|---|
| `plan_sources` | validates `params.sources` (default: higgs, stackexchange) |
| `extract` | mapped per source: raw Parquet partitions + manifests + quarantine (atomic, idempotent) |
| `validate_raw` | Great Expectations raw suites; an error-severity failure stops the run |
| `dbt_build` | `dbt build --vars '{run_date: D}'` into the working warehouse (pool `influence_warehouse`) |
| `validate_marts` | Great Expectations mart suites: the *audit* of write-audit-publish |
| `publish` | swaps the marts + `run_audit` into `data/published/` (DuckDB file and Parquet) |

A run for another day waits before `dbt_build` until the run whose build is in the warehouse has
published or failed, so a backfill and the daily schedule never overwrite each other's unaudited build.

Catching up many days? `influence_backfill` runs a range in one run, paying dbt's start-up once.

Data problems (a bad source file, a failed check, a failing dbt test) and a warehouse still busy
after the lock wait fail the task at once (`AirflowFailException`): retrying cannot fix them. So
does Ctrl-C in `influence run`, which runs the tasks in its own process.
Anything unexpected (I/O errors, a crash, a killed dbt process, a task over its 6-hour limit) is retried twice. Every run that ends in failure is recorded in `run_audit` with the failing stage
and a one-line reason; see `influence status`.
"""


def _day() -> tuple[dt.date, str]:
    context = get_current_context()
    return context["data_interval_start"].date(), context["run_id"]


def _record_failure(context: Any) -> None:
    """on_failure_callback: called once a task has failed for good (not on a retry)."""
    from influence import pipeline

    pipeline.record_failure(
        context["data_interval_start"].date(), context["run_id"], context["ti"].task_id, failure_cause(context)
    )


@dag(
    dag_id="influence_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # DuckDB has one writer, and each day builds on the previous days' scores
    default_args={**RETRY_POLICY, "execution_timeout": DAILY_TASK_TIMEOUT, "on_failure_callback": _record_failure},
    params={"sources": sources_param(
        "Sources to extract for the day (the others keep their existing raw partitions).")},
    tags=["influence", "daily", "dbt", "duckdb"],
    doc_md=DOC_MD,
)
def influence_daily() -> None:
    @task
    def plan_sources() -> list[str]:
        from influence import pipeline

        return call(pipeline.parse_sources, list(get_current_context()["params"]["sources"]))

    @task(map_index_template="{{ source_name }}")
    def extract(source: str) -> dict[str, Any]:
        from influence import pipeline

        get_current_context()["source_name"] = source  # names the mapped task in the UI  # type: ignore[typeddict-unknown-key]
        day, run_id = _day()
        return call(pipeline.extract, day, source, run_id)

    @task
    def validate_raw(extracted: list[dict[str, Any]]) -> dict[str, Any]:
        from influence import pipeline

        day, run_id = _day()
        return call(pipeline.validate_raw, day, run_id)

    @task(pool=WAREHOUSE_POOL)
    def dbt_build(raw_checks: dict[str, Any]) -> dict[str, Any]:
        from influence import pipeline

        day, run_id = _day()
        return call(pipeline.dbt_build, day, run_id)

    # The audit and publish stay out of the pool: a run waiting to build (for another run's build to
    # be published) holds the pool's one slot, and the run it waits for must still be able to audit
    # and publish. The warehouse file lock serializes them.
    @task
    def validate_marts(build: dict[str, Any]) -> dict[str, Any]:
        from influence import pipeline

        day, run_id = _day()
        return call(pipeline.validate_marts, day, run_id)

    @task
    def publish(mart_checks: dict[str, Any]) -> dict[str, Any]:
        from influence import pipeline

        day, run_id = _day()
        return call(pipeline.publish, day, run_id)

    publish(validate_marts(dbt_build(validate_raw(extract.expand(source=plan_sources())))))


influence_daily()
