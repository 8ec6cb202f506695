"""The DAG under the real Airflow scheduler, not only in-process.

Starts `airflow standalone` (API server, scheduler, DAG processor, triggerer) bound to loopback with
the project's DAG folder, asks the scheduler for the 2012-07-01 run the Airflow way (a backfill,
so the run's data interval is [07-01, 07-02)), waits for it and reads the published marts. The
first Higgs day is the smallest (720 accounts scored, against 42,194 on 4 July): the test is about
the scheduler, and the big days are the e2e tests' and the benchmark's job.

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
STARTUP_TIMEOUT_S = 180
RUN_TIMEOUT_S = 420


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def airflow_env(tmp_path: Path) -> dict[str, str]:
    api_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        AIRFLOW_HOME=str(tmp_path / "airflow"),
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
        INFLUENCE_DATA_DIR=str(tmp_path / "data"),
        GX_ANALYTICS_ENABLED="false",
    )
    return env


@pytest.fixture
def standalone(airflow_env: dict[str, str], tmp_path: Path) -> Iterator[httpx.Client]:
    log_path = tmp_path / "standalone.log"
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
            yield api
    finally:
        _stop_process_tree(proc)
        shutil.copy(log_path, tmp_path / "standalone.kept.log")


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


def _wait_for_dag(api: httpx.Client) -> None:
    """Until the DAG processor has parsed the DAG folder and serialized influence_daily."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while api.get("/dags/influence_daily").status_code == 404:
        assert time.monotonic() < deadline, "the DAG processor did not serialize influence_daily"
        time.sleep(1)


def _backfill_run_state(api: httpx.Client) -> str:
    runs = _call(api, "GET", "/dags/influence_daily/dagRuns?run_type=backfill")["dag_runs"]
    return runs[0]["state"] if runs else ""


def test_scheduler_runs_one_day_and_publishes(standalone: httpx.Client, airflow_env: dict[str, str],
                                              tmp_path: Path) -> None:
    api = standalone
    _call(api, "POST", "/pools", name="influence_warehouse", slots=1, description="DuckDB has one writer")
    _wait_for_dag(api)
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
    assert state == "success", f"influence_daily for {DAY} ended {state}; logs in {tmp_path}:\n{errors}"
    # yesterday's scheduled run may fail its audit (it has no data), but neither run may have found
    # its build overwritten by the other: the second waits for the first to publish or fail
    assert "last built by run" not in errors, errors

    published = tmp_path / "data" / "published" / "influence.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        days, persons, low, high = con.execute(
            "select count(distinct score_date), count(*), min(score), max(score) "
            "from fct_person_scores"
        ).fetchone()
        twitter_accounts = con.execute(
            "select count(*) from fct_network_scores where network = 'twitter' "
            "and score_date = ?", [DAY]
        ).fetchone()[0]
    assert days == 1
    assert persons > 500, "the real 1 July Higgs day scores hundreds of accounts"
    assert 1.0 <= low <= high <= 100.0
    assert twitter_accounts > 500
