"""What the two DAGs (influence_daily, influence_backfill) share: how a task calls a pipeline step,
the retry policy and the `sources` parameter. Airflow is imported inside the functions, so this
module (and a DAG file importing it) stays cheap to import for the DAG processor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from influence.settings import DEFAULT_SOURCES, KNOWN_SOURCES

WAREHOUSE_POOL = "influence_warehouse"
START_DATE = dt.datetime(2012, 7, 1, tzinfo=dt.UTC)

# Data problems fail a task at once (see `call`); anything unexpected (I/O, a crash) is retried.
RETRY_POLICY: dict[str, Any] = {
    "owner": "influence",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
}

# A hung task (a dbt query that never returns) would otherwise hold the one warehouse slot, and with
# max_active_runs=1 every later run would wait behind it. Generous limits: the slowest measured day
# (L scale, 50M events, day 4 of a run) took 12.6 minutes for all its stages, its dbt stage 10.3, and a
# day's cost grows with the 90-day state (reports/bench.md); the 175-day Stack Exchange backfill took
# 7-8 minutes. On timeout Airflow interrupts the task, the dbt worker is killed (influence.dbt), the
# warehouse lock is released and the task is retried. A backfill builds all its days in one task:
# one that would need more than a day (weeks at L scale) is run as consecutive shorter ranges.
DAILY_TASK_TIMEOUT = dt.timedelta(hours=6)
BACKFILL_TASK_TIMEOUT = dt.timedelta(hours=24)


def call(function: Any, *args: Any) -> Any:
    """Run a pipeline step. Its own errors (InfluenceError) are final: a bad source file, a failed
    check or a failing dbt test does not fix itself, and a busy warehouse has already been waited
    for (INFLUENCE_LOCK_TIMEOUT_SECONDS). So is Ctrl-C: `influence run` runs the task in its own
    process, and a retry would start it again a minute later instead of stopping the run.
    Anything unexpected (I/O, a crash) may be retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from influence.errors import InfluenceError, RunInterruptedError

    try:
        return function(*args)
    except InfluenceError as error:
        raise AirflowFailException(str(error)) from error
    except KeyboardInterrupt:
        interrupted = RunInterruptedError()
        raise AirflowFailException(str(interrupted)) from interrupted


def failure_cause(context: Any) -> BaseException | None:
    """The error that failed the task, unwrapped from the AirflowFailException of `call`."""
    error = context.get("exception")
    if error is not None and error.__cause__ is not None:
        error = error.__cause__
    return error


def sources_param(description: str) -> Any:
    from airflow.sdk import Param

    return Param(
        list(DEFAULT_SOURCES),
        type="array",
        items={"type": "string", "enum": list(KNOWN_SOURCES)},
        minItems=1,
        description=description,
    )
