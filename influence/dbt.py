"""Run `dbt build` for one day (and generate its dbt docs); turn the outcome into a one-line error or
per-node timings.

dbt runs in a child process (see below), not in the calling process with `dbtRunner`.
Measured on Higgs 2012-07-01/02 (2 cores): subprocess 11.4 s / 13.7 s per build, in-process 13.4 s
for the first day, so the saved import buys nothing measurable; worse, dbt-duckdb keeps its DuckDB
connection open in the calling process after the build, so the mart validation that follows in
the same process (`influence run` runs every task in one process) cannot open the warehouse
read-only ("Can't open a connection to same database file with a different configuration").
A child process also keeps dbt's global logging state out of Airflow's, and dies with the run's
process group. The outcome is read from `run_results.json`.

The child is this module (`python -m influence.dbt`): it runs `dbt build` and then, in the same
process, `dbt docs generate --no-compile --static` against the manifest the build just wrote, so
every run leaves a self-contained dbt docs page (lineage, column docs, catalog of the warehouse it
built) for 0.5 s instead of the 6.5 s of a second dbt process (measured on a Stack Exchange day).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from influence.errors import DbtBuildError
from influence.settings import DBT_PROJECT_DIR, Paths

FAILED_STATUSES = {"error", "fail", "runtime error"}
DOCS_FAILED_EXIT_CODE = 3


@dataclass(frozen=True)
class DbtBuildResult:
    seconds: float
    node_seconds: dict[str, float]
    status_counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    run_results: Path | None = None
    docs: Path | None = None  # the run's dbt docs page (static index.html)


def docs_page(paths: Paths, day: dt.date) -> Path:
    """Where the dbt docs of the latest run of `day` are kept (next to its GX Data Docs)."""
    return paths.runs / "dbt_docs" / day.isoformat() / "index.html"


def build_day(day: dt.date, paths: Paths, run_dir: Path) -> DbtBuildResult:
    """`dbt build --vars '{run_date: D}'` (models and their tests). Raises DbtBuildError naming the
    first failing node; otherwise returns the time per node."""
    target_path = paths.runs / "dbt_target"  # shared across runs so dbt can reuse its partial parse
    log_path = run_dir / "dbt_logs"
    run_dir.mkdir(parents=True, exist_ok=True)
    results_file = target_path / "run_results.json"
    results_file.unlink(missing_ok=True)
    arguments = [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_path),
        "--log-path", str(log_path),
        "--vars", json.dumps({"run_date": day.isoformat()}),
        "--no-use-colors",
        # dbt unit tests check the SQL logic on fixed rows, not the day's data: they belong in CI
        # (tests/dbt/test_dbt_unit_tests.py runs them), as dbt recommends, not in every daily build.
        "--exclude", "test_type:unit",
    ]
    environment = {
        **paths.env(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    started = time.monotonic()
    (target_path / "static_index.html").unlink(missing_ok=True)
    invocation_error = _run_subprocess(arguments, environment, run_dir / "dbt_output.log")
    seconds = time.monotonic() - started

    if not results_file.exists():
        raise DbtBuildError(
            f"dbt build for {day} failed before running any node: {invocation_error or 'no run_results.json'}"
            f" (log: {log_path / 'dbt.log'})"
        )
    kept_results = run_dir / "run_results.json"
    shutil.copyfile(results_file, kept_results)
    results = json.loads(results_file.read_text())["results"]
    failures = [r for r in results if r["status"] in FAILED_STATUSES]
    if failures:
        first = failures[0]
        others = f" (and {len(failures) - 1} more failing nodes)" if len(failures) > 1 else ""
        raise DbtBuildError(
            f"dbt build for {day} failed at {first['unique_id']}: {_one_line(first.get('message'))}{others}"
            f" (details: {kept_results})"
        )
    if invocation_error:
        raise DbtBuildError(f"dbt build for {day} failed: {invocation_error} (log: {log_path / 'dbt.log'})")
    docs = _keep_docs_page(target_path, docs_page(paths, day), day, log_path)
    status_counts: dict[str, int] = {}
    for result in results:
        status_counts[result["status"]] = status_counts.get(result["status"], 0) + 1
    return DbtBuildResult(
        seconds=seconds,
        node_seconds={r["unique_id"]: round(float(r.get("execution_time") or 0.0), 3) for r in results},
        status_counts=status_counts,
        warnings=[f"{r['unique_id']}: {_one_line(r.get('message'))}" for r in results if r["status"] == "warn"],
        run_results=kept_results,
        docs=docs,
    )


def _keep_docs_page(target_path: Path, page: Path, day: dt.date, log_path: Path) -> Path:
    generated = target_path / "static_index.html"
    if not generated.exists():
        raise DbtBuildError(f"dbt docs generate for {day} wrote no {generated} (log: {log_path / 'dbt.log'})")
    page.parent.mkdir(parents=True, exist_ok=True)
    temporary = page.with_suffix(".tmp")
    shutil.copyfile(generated, temporary)
    os.replace(temporary, page)
    return page


def _run_subprocess(arguments: list[str], environment: dict[str, str], output_log: Path) -> str | None:
    with open(output_log, "w", encoding="utf-8") as output:
        completed = subprocess.run(
            [sys.executable, "-m", "influence.dbt", *arguments],
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if completed.returncode == 0:
        return None
    if completed.returncode == DOCS_FAILED_EXIT_CODE:
        return "the build passed but dbt docs generate failed"
    error_lines = [
        line.strip()
        for line in output_log.read_text(encoding="utf-8", errors="replace").splitlines()
        if "error" in line.lower()
    ]
    return _one_line(error_lines[-1] if error_lines else f"exit code {completed.returncode}")


def _one_line(message: str | None, limit: int = 300) -> str:
    text = " ".join((message or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _build_then_generate_docs(arguments: list[str]) -> int:
    """The child process: `dbt build <arguments>`, then the docs of what it built. Exit code 0, 1 (the
    build failed; run_results.json says where) or DOCS_FAILED_EXIT_CODE."""
    from dbt.cli.main import dbtRunner

    build = dbtRunner().invoke(["build", *arguments])
    if not build.success:
        return 1
    docs = dbtRunner().invoke(["docs", "generate", "--no-compile", "--static", *arguments])
    return 0 if docs.success else DOCS_FAILED_EXIT_CODE


if __name__ == "__main__":
    sys.exit(_build_then_generate_docs(sys.argv[1:]))
