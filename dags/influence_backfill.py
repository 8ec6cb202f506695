"""influence_backfill: many days in one run; extract → validate raw → dbt build → validate marts →
publish, each stage over the whole range.

Thin on purpose, like influence_daily: every task calls one `influence.pipeline.*_days` function.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from influence.orchestration import BACKFILL_TASK_TIMEOUT, RETRY_POLICY, START_DATE, WAREHOUSE_POOL, call, failure_cause, sources_param

DOC_MD = """
### influence_backfill

Scores a **range of UTC days** in one run, for catching up or loading a history (the Stack
Exchange quantumcomputing history is 175 days). Triggered by hand (`influence backfill --start D1
--end D2`, or with the conf `{"start": "D1", "end": "D2"}`); it has no schedule.

| task | does, for every day of `[start, end]` |
|---|---|
| `plan_days`, `plan_sources` | validate the parameters |
| `extract` | mapped per source: the raw partitions of each day, in order |
| `validate_raw_and_build` | Great Expectations raw suites day by day and, beside them, one dbt process that builds each day in order as soon as its raw checks (and the earlier days') have passed, then tests all days together (pool `influence_warehouse`) |
| `validate_marts` | Great Expectations mart suites, day by day, each against the day before |
| `publish` | one publish of all the days (DuckDB file and Parquet), with one `run_audit` row per day |

What it saves against one `influence_daily` run per day: dbt's start-up and parse, the tests of
the history and the docs are paid once per range instead of once per day, and so are Airflow's
own costs; from the second day on, dbt skips the nodes that cannot change (the models whose SQL
does not read the run date, and the staging of a source with no raw data that day nor the day
before); and the raw checks of later days run while dbt builds the earlier ones (both are mostly
one core's Python work for a small day). A day whose raw checks fail is never built: the task
stops there and the audit names `validate_raw`. What it gives up: nothing is published until
every day has passed its audit; a failure on any day fails the range (each day gets a failed
`run_audit` row naming the stage) and a rerun redoes the range. The daily runs' guarantees hold
otherwise: the same stages and checks per day, the same warehouse lock and build lease, and the
days' published rows are identical to those of daily runs.
"""

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def _days() -> list[dt.date]:
    from influence import pipeline

    params = get_current_context()["params"]
    return pipeline.parse_days(dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"]))


def _record_failure(context: Any) -> None:
    """on_failure_callback: called once a task has failed for good (not on a retry)."""
    from influence import pipeline
    from influence.errors import QualityGateError

    params = context["params"]
    try:
        days = pipeline.parse_days(dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"]))
    except (KeyError, TypeError, ValueError, pipeline.InfluenceError):
        return  # the range itself is invalid: plan_days failed and there is no day to record
    cause = failure_cause(context)
    stage = context["ti"].task_id
    if stage == "validate_raw_and_build":  # two stages: a failed check can only be a raw check
        stage = "validate_raw" if isinstance(cause, QualityGateError) else "dbt_build"
    pipeline.record_failure_days(days, context["run_id"], stage, cause)


@dag(
    dag_id="influence_backfill",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # DuckDB has one writer, and each day builds on the previous days' scores
    default_args={**RETRY_POLICY, "execution_timeout": BACKFILL_TASK_TIMEOUT, "on_failure_callback": _record_failure},
    params={
        "start": Param(type="string", pattern=DATE_PATTERN, description="First day (YYYY-MM-DD, UTC)."),
        "end": Param(type="string", pattern=DATE_PATTERN, description="Last day, inclusive."),
        "sources": sources_param("Sources to extract for every day (the others keep their existing raw partitions)."),
    },
    tags=["influence", "backfill", "dbt", "duckdb"],
    doc_md=DOC_MD,
)
def influence_backfill() -> None:
    @task
    def plan_days() -> list[str]:
        return [day.isoformat() for day in call(_days)]

    @task
    def plan_sources() -> list[str]:
        from influence import pipeline

        return call(pipeline.parse_sources, list(get_current_context()["params"]["sources"]))

    @task(map_index_template="{{ source_name }}")
    def extract(source: str, days: list[str]) -> dict[str, Any]:
        from influence import pipeline

        get_current_context()["source_name"] = source  # names the mapped task in the UI  # type: ignore[typeddict-unknown-key]
        return call(pipeline.extract_days, _dates(days), source, get_current_context()["run_id"])

    @task(pool=WAREHOUSE_POOL)
    def validate_raw_and_build(days: list[str], extracted: list[dict[str, Any]]) -> dict[str, Any]:
        from influence import pipeline

        return call(pipeline.validate_raw_and_build_days, _dates(days), get_current_context()["run_id"])

    # Out of the pool, as in influence_daily: the warehouse file lock serializes them.
    @task
    def validate_marts(days: list[str], build: dict[str, Any]) -> dict[str, Any]:
        from influence import pipeline

        return call(pipeline.validate_marts_days, _dates(days), get_current_context()["run_id"])

    @task
    def publish(days: list[str], mart_checks: dict[str, Any]) -> dict[str, Any]:
        from influence import pipeline

        return call(pipeline.publish_days, _dates(days), get_current_context()["run_id"])

    days = plan_days()
    extracted = extract.partial(days=days).expand(source=plan_sources())
    publish(days, validate_marts(days, validate_raw_and_build(days, extracted)))


def _dates(days: list[str]) -> list[dt.date]:
    return [dt.date.fromisoformat(day) for day in days]


influence_backfill()
