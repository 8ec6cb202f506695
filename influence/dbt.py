"""Run dbt for one day or a range of days (and generate the dbt docs of what it built); turn the
outcome into a one-line error or per-node timings.

dbt runs in a child process (see below), not in the calling process with `dbtRunner`.
Measured on Higgs 2012-07-01/02 (2 cores): subprocess 11.4 s / 13.7 s per build, in-process 13.4 s
for the first day, so the saved import buys nothing measurable; worse, dbt-duckdb keeps its DuckDB
connection open in the calling process after the build, so the mart validation that follows in
the same process (`influence run` runs every task in one process) cannot open the warehouse
read-only ("Can't open a connection to same database file with a different configuration").
A child process also keeps dbt's global logging state out of Airflow's, and dies with the run's
process group.

The child is this module (`python -m influence.dbt --serve`), a worker that stays up while the
calling process lives and runs one build per request: `influence run` over several days runs every
task of every day in one process, so from the second day on a build skips dbt's import (3.5 s) and
a cold parse (2.2 s; warm: 0.3-0.5 s; both measured against the Higgs sample's warehouse), and
`influence run` starts it before its first stage (`start_worker`), so even the first build does
not wait for the import, nor for a full parse of a new data directory: the worker parses the
project ahead while the caller starts Airflow and runs the first stages. Between builds it closes
its DuckDB connection, so the mart checks can open the warehouse. An Airflow worker that runs
each task in a new process starts a new one per build, as before. Each build parses the project
and hands that manifest to every step, so a range of days pays the parse once:

    seed                                    the model constants
    per day D: build every model and the    `--vars '{run_date: D}'`; the staging views and
               tests of the one-day tables  the day's tables hold only D, so they are tested
                                            before the next day
               (but what cannot change: `_unchanged_nodes`)
    test the history                        every other data test, over all the days at once
                                            (`test_start_date: first day, run_date: last day`)
    docs generate --no-compile --static     one self-contained docs page of what was built

A daily run is the same sequence for one day. Reusing one manifest for several days is sound
because nothing in the project reads the run date at parse time: models read `var('run_date')`
when they compile, and test filters use placeholders resolved then (macros/tested_days.sql). The
parse itself runs without the day's vars, so dbt's partial parsing also carries over from one
run to the next (a changed var forces dbt to re-parse everything).

The steps' results are merged into one `run_results.json` in the run directory (dbt's format,
each result also naming its step and day), written once when the build ends: rewritten after every
step, it made a range's writing quadratic in its days (20 MB after 175 Stack Exchange days).

A build may be gated (`gate`): before each day the worker waits for the caller's go-ahead for
that day, so a backfill builds each day as soon as its raw checks have passed while the checks of
the later days run beside it (`influence.pipeline.validate_raw_and_build_days`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from influence.errors import DbtBuildError, DbtProcessKilledError
from influence.settings import DBT_PROJECT_DIR, KNOWN_SOURCES, PARQUET_FILE, Paths, partition_dir, source_of_network

FAILED_STATUSES = {"error", "fail", "runtime error"}
DOCS_FAILED_EXIT_CODE = 3
GATE_STOPPED_EXIT_CODE = 4  # the caller withdrew the go-ahead for a day: nothing from it on was built
# `gate(day, timeout)`: True once `day` may be built, False if `timeout` seconds passed first;
# raises if the day will never be built (its raw checks failed).
DayGate = Callable[[dt.date, float], bool]
GATE_POLL_SECONDS = 0.5
# The tests of the tables that hold only the day being built (staging, the day's events): they
# must run before the next day replaces those tables. tests/dbt/test_dbt_steps.py checks that
# these and the history tests are all the data tests, each once.
ONE_DAY_TESTS = ["config.materialized:table+1,resource_type:test", "config.materialized:view+1,resource_type:test"]
# dbt unit tests check the SQL logic on fixed rows, not the day's data: they belong in CI
# (tests/dbt/test_dbt_unit_tests.py runs them), as dbt recommends, not in every daily build.
UNIT_TESTS = "test_type:unit"
# `build` selects exactly these (models do not pull in their tests: `--indirect-selection empty`)
DAY_SELECTION = ["--select", "resource_type:model", *ONE_DAY_TESTS, "--exclude", UNIT_TESTS,
                 "--indirect-selection", "empty"]
HISTORY_SELECTION = ["--select", "resource_type:test", "--exclude", *ONE_DAY_TESTS, UNIT_TESTS,
                     "--indirect-selection", "empty"]
DAY_VARS = ("run_date", "test_start_date")
# The tag of the models whose SQL does not depend on the run date: a range builds them on its first
# day only (`_unchanged_nodes`).
SAME_EVERY_DAY = "same_every_day"


@dataclass(frozen=True)
class DbtBuildResult:
    seconds: float
    node_seconds: dict[str, float]
    status_counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    run_results: Path | None = None
    docs: Path | None = None  # the run's dbt docs page (static index.html)
    # per day: seconds of its own steps (run + one-day tests); the rest (import, parse, seed,
    # history tests, docs) is shared by the days of the range
    day_seconds: dict[dt.date, float] = field(default_factory=dict)


def docs_page(paths: Paths, day: dt.date) -> Path:
    """Where the dbt docs of the latest run of `day` are kept (next to its GX Data Docs)."""
    return paths.runs / "dbt_docs" / day.isoformat() / "index.html"


def build_days(days: Sequence[dt.date], paths: Paths, run_dir: Path,
               extra_vars: dict[str, Any] | None = None, gate: DayGate | None = None,
               on_day_built: Callable[[dt.date], None] | None = None) -> DbtBuildResult:
    """Build the days in order, then test them (see the module docstring) and write the docs page
    of the last day. Raises DbtBuildError naming the first failing node and its day; otherwise
    returns the time per node (summed over the days) and per day.

    With `gate`, each day is built only once `gate` lets it (see DayGate); if `gate` raises, the
    build stops before that day and the error is raised. `on_day_built(day)` is called as each
    day's own step passes (a range's progress), from another thread when gated."""
    days = sorted(days)
    if not days:
        raise DbtBuildError("dbt build: no day to build")
    target_path = _target_path(paths)
    log_path = run_dir / "dbt_logs"
    run_dir.mkdir(parents=True, exist_ok=True)
    kept_results = run_dir / "run_results.json"
    kept_results.unlink(missing_ok=True)
    arguments = [
        "--days", ",".join(day.isoformat() for day in days),
        "--vars", json.dumps(extra_vars or {}),
        "--results", str(kept_results),
        *(["--gated"] if gate is not None else []),
        "--", *_dbt_arguments(paths, log_path),
    ]
    environment = _environment(paths)
    what = f"dbt build for {_span(days)}"
    started = time.monotonic()
    (target_path / "static_index.html").unlink(missing_ok=True)
    invocation_error = _run_in_worker(arguments, environment, run_dir / "dbt_output.log", days, gate, on_day_built)
    seconds = time.monotonic() - started

    if not kept_results.exists():
        raise DbtBuildError(
            f"{what} failed before running any node: {invocation_error or 'no run_results.json'}"
            f" (log: {log_path / 'dbt.log'})"
        )
    merged = json.loads(kept_results.read_text())
    results = merged["results"]
    failures = [r for r in results if r["status"] in FAILED_STATUSES]
    if failures:
        first = failures[0]
        others = f" (and {len(failures) - 1} more failing nodes)" if len(failures) > 1 else ""
        raise DbtBuildError(
            f"{what} failed at {first['unique_id']} ({first['step']} {first['day']}): {_one_line(first.get('message'))}{others}"
            f" (details: {kept_results})"
        )
    if invocation_error:
        raise DbtBuildError(f"{what} failed: {invocation_error} (log: {log_path / 'dbt.log'})")
    docs = _keep_docs_page(target_path, docs_page(paths, days[-1]), days[-1], log_path)
    status_counts: dict[str, int] = {}
    node_seconds: dict[str, float] = {}
    for result in results:
        status_counts[result["status"]] = status_counts.get(result["status"], 0) + 1
        node_seconds[result["unique_id"]] = round(
            node_seconds.get(result["unique_id"], 0.0) + float(result.get("execution_time") or 0.0), 3)
    day_seconds = {day: 0.0 for day in days}
    for step in merged["steps"]:
        if step["per_day"]:
            day_seconds[dt.date.fromisoformat(step["day"])] += step["seconds"]
    return DbtBuildResult(
        seconds=seconds,
        node_seconds=node_seconds,
        status_counts=status_counts,
        warnings=[f"{r['unique_id']}: {_one_line(r.get('message'))}" for r in results if r["status"] == "warn"],
        run_results=kept_results,
        docs=docs,
        day_seconds={day: round(value, 3) for day, value in day_seconds.items()},
    )


def _target_path(paths: Paths) -> Path:
    return paths.runs / "dbt_target"  # shared across runs so dbt can reuse its partial parse


def _dbt_arguments(paths: Paths, log_path: Path) -> list[str]:
    return [
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(_target_path(paths)),
        "--log-path", str(log_path),
        "--no-use-colors",
    ]


def _environment(paths: Paths) -> dict[str, str]:
    return {**paths.env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


def _span(days: Sequence[dt.date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]} ({len(days)} days)"


def _keep_docs_page(target_path: Path, page: Path, day: dt.date, log_path: Path) -> Path:
    generated = target_path / "static_index.html"
    if not generated.exists():
        raise DbtBuildError(f"dbt docs generate for {day} wrote no {generated} (log: {log_path / 'dbt.log'})")
    page.parent.mkdir(parents=True, exist_ok=True)
    temporary = page.with_suffix(".tmp")
    shutil.copyfile(generated, temporary)
    os.replace(temporary, page)
    return page


class _Worker:
    """A `python -m influence.dbt --serve` child: one JSON line per build on its stdin (arguments,
    environment, output log), one JSON line back with the exit code. The child is in the caller's
    process group, so it dies with the run; it exits when the caller closes its stdin (at exit)."""

    def __init__(self) -> None:
        self.executable = sys.executable
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [self.executable, "-m", "influence.dbt", "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        )
        self.unanswered = 0  # requests whose answer nobody waits for (`parse_ahead`)

    def parse_ahead(self, paths: Paths) -> None:
        """Ask the worker to parse the project for `paths` now, without waiting: the first build's
        parse is then a partial one. Its answer is read (and dropped) by the next build; if it
        failed, that build parses everything again and reports what is wrong."""
        log_path = _target_path(paths) / "parse_ahead_logs"
        request = {"parse_only": True, "arguments": ["--", *_dbt_arguments(paths, log_path)],
                   "environment": {**os.environ, **_environment(paths)},
                   "output_log": str(log_path / "dbt_output.log")}
        log_path.mkdir(parents=True, exist_ok=True)
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        self.unanswered += 1

    def usable(self) -> bool:
        # a forked process must not share its parent's pipes; a changed interpreter needs its own
        return self.process.poll() is None and self.owner == os.getpid() and self.executable == sys.executable

    def build(self, arguments: list[str], environment: dict[str, str], output_log: Path,
              days: Sequence[dt.date] = (), gate: DayGate | None = None,
              on_day_built: Callable[[dt.date], None] | None = None) -> int:
        """The build's exit code, or minus the signal that killed the child. Before its answer
        the child sends a line for each day built, handed to `on_day_built`.

        A gated build (`--gated`) gets one line per day, in order, once `gate` says the day may
        be built. The child's answer is awaited meanwhile: a build that fails on a day ends the
        wait at once. If `gate` raises, the child is told to stop, and once it has answered the
        error is raised."""
        request = {"arguments": arguments, "environment": environment, "output_log": str(output_log)}
        answer: list[str] = []
        answered = threading.Event()

        def await_answer() -> None:
            while True:
                line = self.process.stdout.readline()
                built = json.loads(line).get("built") if line.strip() else None
                if built is None:
                    break
                if on_day_built is not None:
                    on_day_built(dt.date.fromisoformat(built))
            answer.append(line)
            answered.set()

        withdrawn: Exception | None = None
        try:
            self._send(request)
            while self.unanswered:
                self.process.stdout.readline()
                self.unanswered -= 1
            if gate is None:
                await_answer()
            else:
                threading.Thread(target=await_answer, name="dbt-worker-answer", daemon=True).start()
                try:
                    for day in days:
                        while not answered.is_set() and not gate(day, GATE_POLL_SECONDS):
                            pass
                        if answered.is_set():
                            break
                        self._send({"build": day.isoformat()})
                except Exception as error:  # noqa: BLE001 - raised below, once the child has stopped
                    withdrawn = error
                    self._send({"stop": _one_line(str(error) or type(error).__name__)})
                answered.wait()
        except BrokenPipeError:
            answered.wait(timeout=30)  # the child is gone: its stdout ends too
        except BaseException:
            # the caller gave up (a task timeout, Ctrl-C): the build must not go on without it
            self.process.kill()
            self.process.wait()
            raise
        if withdrawn is not None:
            raise withdrawn
        reply = answer[0] if answer else ""
        if reply:
            return int(json.loads(reply)["exit_code"])
        returncode = self.process.wait()
        return returncode if returncode != 0 else 1  # it ended without answering

    def _send(self, message: dict[str, Any]) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.owner == os.getpid() and self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


_idle_workers: list[_Worker] = []
_idle_workers_lock = threading.Lock()


def _take_worker() -> _Worker:
    """An idle worker, or a new one (builds running side by side, as `make evaluate`'s, get one each)."""
    while True:
        with _idle_workers_lock:
            worker = _idle_workers.pop() if _idle_workers else None
        if worker is None:
            return _Worker()
        if worker.usable():
            return worker
        worker.stop()


def start_worker(paths: Paths | None = None) -> None:
    """Start a dbt worker now, for a caller that will build soon (`influence run`, `backfill`): it
    imports dbt (3.7 s) on the other core while the caller starts Airflow and runs the first
    stages, instead of after them, and with `paths` it parses the project for them too (the first
    build of a new data directory otherwise parses it all, in its own time). Nothing to do if an
    idle one is waiting already (a process that runs `influence run` several times, as the tests do)."""
    with _idle_workers_lock:
        if any(worker.usable() for worker in _idle_workers):
            return
    worker = _Worker()
    if paths is not None:
        worker.parse_ahead(paths)
    with _idle_workers_lock:
        _idle_workers.append(worker)


def _stop_idle_workers() -> None:
    with _idle_workers_lock:
        workers, _idle_workers[:] = list(_idle_workers), []
    for worker in workers:
        worker.stop()


atexit.register(_stop_idle_workers)


def _run_in_worker(arguments: list[str], environment: dict[str, str], output_log: Path,
                   days: Sequence[dt.date] = (), gate: DayGate | None = None,
                   on_day_built: Callable[[dt.date], None] | None = None) -> str | None:
    worker = _take_worker()
    try:
        returncode = worker.build(arguments, {**os.environ, **environment}, output_log, days, gate, on_day_built)
    finally:
        if worker.usable():
            with _idle_workers_lock:
                _idle_workers.append(worker)
    if returncode == 0:
        return None
    if returncode < 0:
        raise DbtProcessKilledError(
            f"dbt child process killed by {signal.Signals(-returncode).name}"
            f" (out of memory?); the task is retried (output: {output_log})"
        )
    if returncode == DOCS_FAILED_EXIT_CODE:
        return "the build passed but dbt docs generate failed"
    if returncode == GATE_STOPPED_EXIT_CODE:  # a gate line it did not expect (a stop makes `build` raise)
        return "stopped at a day's gate: the caller's lines were out of step with the days"
    output = output_log.read_text(encoding="utf-8", errors="replace") if output_log.exists() else ""
    error_lines = [line.strip() for line in output.splitlines() if "error" in line.lower()]
    return _one_line(error_lines[-1] if error_lines else f"exit code {returncode}")


def _one_line(message: str | None, limit: int = 300) -> str:
    text = " ".join((message or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------- the child process


def _option(arguments: list[str], name: str) -> str:
    return arguments[arguments.index(name) + 1]


def _build_then_generate_docs(days: list[str], extra_vars: dict[str, Any], results_file: Path,
                              dbt_arguments: list[str], gated: bool = False,
                              report: Callable[[dict[str, str]], None] | None = None) -> int:
    """Exit code 0, 1 (a step failed; the merged results say where), DOCS_FAILED_EXIT_CODE or
    GATE_STOPPED_EXIT_CODE. The merged results are written however the build ends; `report`
    (the worker's answer channel) gets `{"built": day}` as each day's own step passes."""
    merged: dict[str, Any] = {"results": [], "steps": []}
    try:
        return _build_days_in_steps(days, extra_vars, results_file, dbt_arguments, gated, merged, report)
    finally:
        temporary = results_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(merged))
        os.replace(temporary, results_file)


def _build_days_in_steps(days: list[str], extra_vars: dict[str, Any], results_file: Path,
                         dbt_arguments: list[str], gated: bool, merged: dict[str, Any],
                         report: Callable[[dict[str, str]], None] | None) -> int:
    from dbt.cli.main import dbtRunner

    parse_vars = {key: value for key, value in extra_vars.items() if key not in DAY_VARS}
    parsed = dbtRunner().invoke(["parse", *dbt_arguments, "--vars", json.dumps(parse_vars)])
    if not parsed.success:
        print(f"dbt parse failed: {parsed.exception}", flush=True)
        return 1
    manifest = parsed.result
    # The manifest and dbt's modules live as long as the build: taken out of the collector's
    # generations (main() puts them back), no full collection walks them again. Measured on the
    # last Stack Exchange days: 2.05 -> 1.93 s a day.
    gc.freeze()
    step_results = results_file.with_name("step_results.json")
    # Measured per Stack Exchange day (1.85 s a build): not rewriting the 1.2 MB manifest.json
    # after every step saves 0.1 s (the parse wrote it already; the results are kept below), and
    # a range's log at info instead of debug (every statement dbt sends) 0.13 s and most of the
    # log's size. A daily run keeps dbt's debug log.
    quieter = ["--no-write-json", *(["--log-level-file", "info"] if len(days) > 1 else [])]

    def step(command: str, day: str, per_day: bool, selection: list[str], skipped: Sequence[str] = (),
             **day_vars: str) -> bool:
        started = time.monotonic()
        invocation = dbtRunner(manifest=manifest).invoke(
            [command, *selection, *dbt_arguments, *quieter, "--vars", json.dumps({**extra_vars, **day_vars})])
        seconds = time.monotonic() - started
        results: list[dict[str, Any]] = []
        if invocation.result is not None and hasattr(invocation.result, "write"):
            invocation.result.write(str(step_results))
            results = json.loads(step_results.read_text())["results"]
        merged["results"].extend({**result, "step": command, "day": day} for result in results)
        merged["steps"].append({"step": command, "day": day, "per_day": per_day, "seconds": round(seconds, 3),
                                "success": invocation.success, "nodes": len(results),
                                "skipped_unchanged": list(skipped)})
        return invocation.success

    first, last = days[0], days[-1]
    if not step("seed", first, False, [], run_date=first):
        return 1
    unchanged = _unchanged_nodes(manifest, days, Path(os.environ["INFLUENCE_RAW_DIR"]))
    for day in days:
        if gated and not _go_ahead(day, merged):
            return GATE_STOPPED_EXIT_CODE
        skipped = unchanged.get(day, [])
        selection = [*DAY_SELECTION, "--exclude", *skipped] if skipped else DAY_SELECTION
        if not step("build", day, True, selection, skipped, run_date=day):
            return 1
        if report is not None:
            report({"built": day})
    if not step("test", last, False, HISTORY_SELECTION, run_date=last, test_start_date=first):
        return 1
    docs = dbtRunner(manifest=manifest).invoke(
        ["docs", "generate", "--no-compile", "--static", *dbt_arguments,
         "--vars", json.dumps({**extra_vars, "run_date": last})])
    return 0 if docs.success else DOCS_FAILED_EXIT_CODE


def _go_ahead(day: str, merged: dict[str, Any]) -> bool:
    """Wait for the caller's line for `day` (see `_Worker.build`): build it, or stop here."""
    line = sys.stdin.readline()
    message = json.loads(line) if line.strip() else {"stop": "the caller closed the gate"}
    if message.get("build") == day:
        return True
    reason = message.get("stop") or f"expected the go-ahead for {day}, got {message}"
    merged["stopped"] = {"before_day": day, "reason": reason}
    print(f"stopped before {day}: {reason}", flush=True)
    return False


def _unchanged_nodes(manifest: Any, days: list[str], raw_dir: Path) -> dict[str, list[str]]:
    """Per day of a range after its first: the names of the models, and of their own tests, that
    the day's build skips because they cannot change.

    - Models tagged `same_every_day`: their SQL does not read the run date (the model version's
      constants from the seeds, loaded once per range; views over the day's tables).
      tests/dbt/test_dbt_steps.py compiles them for two days and compares.
    - Staging models (those that read only sources) of a source with no raw partition: such a
      model stages zero rows (macros/raw_day.sql). If its partitions were missing on the range's
      previous day too, that day's view selects nothing already.

    Each skipped node saves dbt's overhead of a node, 20-60 ms: 19 of the 51 nodes of a day of a
    Stack Exchange-only backfill. The first day of a range builds them all: a view may still select
    the rows of a day built before the range, and a new warehouse has none of them yet."""
    same_every_day = {unique_id for unique_id, node in manifest.nodes.items()
                      if node.resource_type == "model" and SAME_EVERY_DAY in node.tags}
    staging: dict[str, list[tuple[str, str]]] = {}
    for unique_id, node in manifest.nodes.items():
        parents = getattr(node.depends_on, "nodes", [])  # a seed depends on macros only
        if node.resource_type == "model" and parents and all(parent in manifest.sources for parent in parents):
            staging[unique_id] = [(manifest.sources[parent].source_name, manifest.sources[parent].name)
                                  for parent in parents]
    networks = [path for path in raw_dir.iterdir() if path.is_dir()] if raw_dir.is_dir() else []

    def stages_nothing(unique_id: str, day: dt.date) -> bool:
        for source_name, table in staging[unique_id]:
            source = source_name.removeprefix("raw_")
            if source not in KNOWN_SOURCES:
                return False  # not a layout this check knows: build it
            if any(source_of_network(network.name) == source
                   and (partition_dir(raw_dir, network.name, table, day) / PARQUET_FILE).exists()
                   for network in networks):
                return False
        return True

    empty_on = {day: {unique_id for unique_id in staging if stages_nothing(unique_id, dt.date.fromisoformat(day))}
                for day in days}
    test_parents = {unique_id: set(node.depends_on.nodes) for unique_id, node in manifest.nodes.items()
                    if node.resource_type == "test" and node.depends_on.nodes}
    unchanged: dict[str, list[str]] = {}
    for previous, day in zip(days, days[1:]):
        models = same_every_day | (empty_on[previous] & empty_on[day])
        tests = {unique_id for unique_id, parents in test_parents.items() if parents <= models}
        if models:
            unchanged[day] = sorted(manifest.nodes[unique_id].name for unique_id in models | tests)
    return unchanged


def parse_only(argv: list[str]) -> int:
    """Parse the project (writing dbt's partial-parse state to the target path), nothing else."""
    from dbt.cli.main import dbtRunner

    dbt_arguments = argv[argv.index("--") + 1:]
    return 0 if dbtRunner().invoke(["parse", *dbt_arguments, "--vars", "{}"]).success else 1


def main(argv: list[str], report: Callable[[dict[str, str]], None] | None = None) -> int:
    separator = argv.index("--")
    options, dbt_arguments = argv[:separator], argv[separator + 1:]
    try:
        return _build_then_generate_docs(
            _option(options, "--days").split(","),
            json.loads(_option(options, "--vars")),
            Path(_option(options, "--results")),
            dbt_arguments,
            gated="--gated" in options,
            report=report,
        )
    finally:
        gc.unfreeze()  # a worker builds again: this build's objects must be collectable


def serve() -> int:
    """The worker's loop (see `_Worker`). Each build gets the caller's environment, as a new
    process would, and its output (dbt's stdout and stderr, at the file-descriptor level) goes to
    the build's own log; the answers go to a copy of the original stdout, which nothing else
    writes to."""
    # Ctrl-C reaches the whole process group: the caller decides (it kills a worker that is
    # building, and closes the stdin of an idle one), so the worker does not print a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import dbt.cli.main  # noqa: F401 - all of dbt, before the first request (see start_worker)
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")

    def report(message: dict[str, str]) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    quiet = os.dup(2)
    os.dup2(quiet, 1)
    for line in sys.stdin:
        request = json.loads(line)
        if "arguments" not in request:
            continue  # a go-ahead sent for a day that a gated build, stopped by a failure, never reached
        os.environ.clear()
        os.environ.update(request["environment"])
        with open(request["output_log"], "w", encoding="utf-8") as output:
            os.dup2(output.fileno(), 1)
            os.dup2(output.fileno(), 2)
            try:
                if request.get("parse_only"):
                    exit_code = parse_only(request["arguments"])
                else:
                    exit_code = main(request["arguments"], report)
            except Exception:  # noqa: BLE001 - reported in the build's log, the worker stays up
                import traceback

                traceback.print_exc()
                exit_code = 1
            finally:
                # dbt-duckdb keeps its database open for the life of the process (a class attribute);
                # the mart checks that follow open the file read-only, which DuckDB refuses meanwhile
                environment = DuckDBConnectionManager._ENV
                if environment is not None:
                    environment.close()
                DuckDBConnectionManager.close_all_connections()
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(quiet, 1)
                os.dup2(quiet, 2)
        answers.write(json.dumps({"exit_code": exit_code}) + "\n")
        answers.flush()
    # The caller waits for this exit (at its own exit); the interpreter's final garbage collections
    # over dbt's objects would cost it about a second, and the worker holds nothing to clean up.
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
