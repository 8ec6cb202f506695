"""The DAGs under the real Airflow scheduler, not only in-process.

Starts `airflow standalone` (API server, scheduler, DAG processor, triggerer) bound to loopback with
the project's DAG folder, once for the module. The daily DAG: asks the scheduler for the 2012-07-01
run the Airflow way (a backfill, so the run's data interval is [07-01, 07-02)), waits for it and
reads the published marts. The first Higgs day is the smallest (720 accounts scored, against
42,194 on 4 July): the test is about the scheduler, and the big days are the e2e tests' and the
benchmark's job. The backfill DAG: triggers a run for two Stack Exchange days, whose task that
checks the raw days beside the dbt build runs here in a real Airflow task process.

The test talks to Airflow through its REST API, as an external system would: each Airflow CLI call
imports Airflow in a new process (10-13 s here, even for a `db migrate` with nothing to migrate),
and five of them were a quarter of the test's time. Standalone migrates the database itself.

Unpausing the DAG also makes the scheduler start the run of the latest interval (yesterday, which
has no data), next to the backfill: the two share the warehouse, as a backfill and the daily
schedule do in production, and the backfill must still publish.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import psutil
import pytest

from influence.settings import DAGS_DIR

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DAY = "2012-07-01"
BACKFILL_DAYS = ("2018-08-28", "2018-08-29")
STARTUP_TIMEOUT_S = 180
RUN_TIMEOUT_S = 420


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Airflow home and data directory for the module: both DAGs run on one standalone."""
    return tmp_path_factory.mktemp("scheduler")


@pytest.fixture(scope="module")
def airflow_env(scheduler_dir: Path) -> dict[str, str]:
    api_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        AIRFLOW_HOME=str(scheduler_dir / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_DIR),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        # the API needs no token on this loopback-only test instance
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS="airflow_sqlite.CONNECT_ARGS",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC="airflow_sqlite.CONNECT_ARGS",
        PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(_free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(_free_port()),
        INFLUENCE_DATA_DIR=str(scheduler_dir / "data"),
        GX_ANALYTICS_ENABLED="false",
    )
    return env


@pytest.fixture(scope="module")
def standalone(airflow_env: dict[str, str], scheduler_dir: Path) -> Iterator[httpx.Client]:
    log_path = scheduler_dir / "standalone.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(BIN / "airflow"), "standalone"],
            env=airflow_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{airflow_env['AIRFLOW__API__PORT']}/api/v2",
                          timeout=60) as api:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            # standalone says it is ready before the API server's worker accepts connections
            while "Airflow is ready" not in log_path.read_text(errors="replace") or not _answers(api):
                assert proc.poll() is None, f"airflow standalone exited:\n{log_path.read_text()[-3000:]}"
                assert time.monotonic() < deadline, "airflow standalone or its API server did not start"
                time.sleep(1)
            _call(api, "POST", "/pools", name="influence_warehouse", slots=1, description="DuckDB has one writer")
            for dag_id in ("influence_daily", "influence_backfill"):
                _wait_for_dag(api, dag_id)
            yield api
    finally:
        _stop_process_tree(proc)
        shutil.copy(log_path, scheduler_dir / "standalone.kept.log")


def _answers(api: httpx.Client) -> bool:
    try:
        return api.get("/version").is_success
    except httpx.TransportError:
        return False


def _stop_process_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to standalone and every process it started, then SIGKILL to whatever is left after
    10 s (some never exit on SIGTERM; nothing of theirs is kept). Signalling the process group is
    not enough: a scheduler that outlived standalone was found still running, reparented to init,
    after the suite had finished."""
    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=10)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=10)
    proc.wait(timeout=10)


def _task_errors(env: dict[str, str]) -> str:
    """The error events of every task log, so a failure on CI says why without the files."""
    logs = Path(env["AIRFLOW_HOME"]) / "logs"
    errors = [f"{log.relative_to(logs)}: {line[:600]}"
              for log in sorted(logs.glob("dag_id=*/**/*.log"))
              for line in log.read_text(errors="replace").splitlines() if '"level":"error"' in line]
    return "\n".join(errors[-20:]) or "(no task logged an error)"


SERVER_ERROR_ATTEMPTS = 3


def _call(api: httpx.Client, method: str, path: str, **body: object) -> dict:
    """One API call. A server error is retried (twice, 2 s apart): the likely one is SQLite's
    "database is locked" while the scheduler writes, which once failed `airflow backfill create` on
    CI even with airflow_sqlite.py's 60 s wait; Airflow rolls such a transaction back whole
    (`airflow.utils.sqlalchemy.is_lock_not_available_error`), so the retry cannot create twice."""
    for attempt in range(1, SERVER_ERROR_ATTEMPTS + 1):
        response = api.request(method, path, json=body or None)
        if response.status_code < 500 or attempt == SERVER_ERROR_ATTEMPTS:
            break
        time.sleep(2)
    assert response.is_success, f"{method} {path}: {response.status_code} {response.text[:2000]}"
    return response.json()


def _wait_for_dag(api: httpx.Client, dag_id: str) -> None:
    """Until the DAG processor has parsed the DAG folder and serialized `dag_id`."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while api.get(f"/dags/{dag_id}").status_code == 404:
        assert time.monotonic() < deadline, f"the DAG processor did not serialize {dag_id}"
        time.sleep(1)


def _backfill_run_state(api: httpx.Client) -> str:
    runs = _call(api, "GET", "/dags/influence_daily/dagRuns?run_type=backfill")["dag_runs"]
    return runs[0]["state"] if runs else ""


def test_scheduler_runs_one_day_and_publishes(standalone: httpx.Client, airflow_env: dict[str, str],
                                              scheduler_dir: Path) -> None:
    api = standalone
    _call(api, "PATCH", "/dags/influence_daily", is_paused=False)
    _call(api, "POST", "/backfills", dag_id="influence_daily",
          from_date=f"{DAY}T00:00:00Z", to_date=f"{DAY}T00:00:00Z")

    deadline = time.monotonic() + RUN_TIMEOUT_S
    state = ""
    while state not in {"success", "failed"}:
        assert time.monotonic() < deadline, f"run for {DAY} still '{state}' after {RUN_TIMEOUT_S}s"
        time.sleep(3)
        state = _backfill_run_state(api)
    errors = _task_errors(airflow_env)
    assert state == "success", f"influence_daily for {DAY} ended {state}; logs in {scheduler_dir}:\n{errors}"
    # yesterday's scheduled run may fail its audit (it has no data), but neither run may have found
    # its build overwritten by the other: the second waits for the first to publish or fail
    assert "last built by run" not in errors, errors

    published = scheduler_dir / "data" / "published" / "influence.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        days = {str(day) for (day,) in con.execute("select distinct score_date from fct_person_scores").fetchall()}
        persons, low, high = con.execute(
            "select count(*), min(score), max(score) from fct_person_scores where score_date = ?", [DAY]
        ).fetchone()
        twitter_accounts = con.execute(
            "select count(*) from fct_network_scores where network = 'twitter' "
            "and score_date = ?", [DAY]
        ).fetchone()[0]
    # nothing of yesterday's scheduled run (no data); the backfill test's days if it ran first
    assert DAY in days and days <= {DAY, *BACKFILL_DAYS}, days
    assert persons > 500, "the real 1 July Higgs day scores hundreds of accounts"
    assert 1.0 <= low <= high <= 100.0
    assert twitter_accounts > 500


def test_scheduler_runs_a_backfill_range_and_publishes(standalone: httpx.Client, airflow_env: dict[str, str],
                                                       scheduler_dir: Path) -> None:
    api = standalone
    _call(api, "PATCH", "/dags/influence_backfill", is_paused=False)
    run = _call(api, "POST", "/dags/influence_backfill/dagRuns", logical_date=None,
                conf={"start": BACKFILL_DAYS[0], "end": BACKFILL_DAYS[-1], "sources": ["stackexchange"]})

    deadline = time.monotonic() + RUN_TIMEOUT_S
    state = ""
    while state not in {"success", "failed"}:
        assert time.monotonic() < deadline, f"backfill {BACKFILL_DAYS} still '{state}' after {RUN_TIMEOUT_S}s"
        time.sleep(3)
        state = _call(api, "GET", f"/dags/influence_backfill/dagRuns/{run['dag_run_id']}")["state"]
    assert state == "success", f"influence_backfill ended {state}; logs in {scheduler_dir}:\n{_task_errors(airflow_env)}"
    tasks = _call(api, "GET", f"/dags/influence_backfill/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]
    assert {task["task_id"] for task in tasks if task["state"] == "success"} >= {"validate_raw_and_build", "publish"}

    published = scheduler_dir / "data" / "published" / "influence.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        audit = con.execute(
            "select cast(day as varchar), status from run_audit where run_id = ? order by day",
            [run["dag_run_id"]]).fetchall()
        scored = dict(con.execute(
            "select cast(score_date as varchar), count(*) from fct_person_scores "
            "where score_date between ? and ? group by 1", [BACKFILL_DAYS[0], BACKFILL_DAYS[-1]]).fetchall())
    assert audit == [(day, "published") for day in BACKFILL_DAYS]
    assert set(scored) == set(BACKFILL_DAYS) and min(scored.values()) > 0, scored
