"""One plain function per DAG task, testable without Airflow.

Each function takes the day (the start of the Airflow data interval) and the run id, does its
stage, and writes `<runs>/<day>/<run id>/<stage>.json` (status, seconds, details, error) so the
audit row can be assembled by whichever task ends the run. Every failure surfaces as an
`InfluenceError` whose message is one line.

The `*_days` functions are the same stages for a range of days in one run (the influence_backfill
DAG): extract and the checks run day by day, dbt builds every day in one process (dbt's start-up
and parse are paid once, not once a day) and tests them together, each day as soon as its raw
checks have passed (`validate_raw_and_build_days`), and one publish swaps in all the days at once,
after every day has passed its audit. Each day still gets its own stage results and
audit row. The daily functions are these with one day.

Concurrency: the working warehouse has one writer. Every stage that opens it (`dbt_build`,
`validate_marts`, `publish`) holds an exclusive `flock` on `<warehouse>.lock`; a second run waits
(saying who holds the lock) up to `INFLUENCE_LOCK_TIMEOUT_SECONDS` (default 900) and then stops
with `WarehouseBusyError`. Because a lock cannot span tasks that may run in different processes,
`dbt_build` also records which run built the warehouse last (`<warehouse>.build.json`);
`validate_marts` and `publish` refuse to audit or publish a warehouse another run rebuilt since,
so unaudited rows are never published. That record is also a lease: until the run that built it
publishes or fails, a run for another day waits before building (a backfill and the daily
schedule would otherwise take turns overwriting each other's unaudited build, and both fail).
A rerun of the same day takes the lease over, so a run killed before publishing never blocks it.
"""

from __future__ import annotations

import datetime as dt
import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from influence import audit
from influence.errors import InfluenceError, QualityGateError, RunInterruptedError, WarehouseBusyError
from influence.settings import DEFAULT_SOURCES, KNOWN_SOURCES, Paths, paths as current_paths

if TYPE_CHECKING:
    from influence.dbt import DayGate

DEFAULT_LOCK_TIMEOUT_SECONDS = 900.0
MIN_DAYS_FOR_WORKERS = 4
DAY_DONE = "day_done"
CHECKS_NICENESS = 10  # of the raw checks running beside a backfill's build


class StaleBuildError(InfluenceError):
    """The working warehouse was rebuilt by another run after this run's dbt build."""


# Observers get (run_id, stage, state, message) for each stage transition; `influence run` uses
# this for its progress display (dag.test runs tasks in the calling process). A stage done once for
# a range (the dbt build) also reports each day as it is done: state DAY_DONE, the day as message.
StageObserver = Callable[[str, str, str, str], None]
_observers: list[StageObserver] = []


def add_stage_observer(observer: StageObserver) -> None:
    _observers.append(observer)


def remove_stage_observer(observer: StageObserver) -> None:
    if observer in _observers:
        _observers.remove(observer)


def _notify(run_id: str, stage: str, state: str, message: str = "") -> None:
    for observer in list(_observers):
        observer(run_id, stage, state, message)


def one_line(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        error = RunInterruptedError()
    text = str(error) if isinstance(error, InfluenceError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())


def parse_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from start to end, inclusive."""
    if end < start:
        raise InfluenceError(f"the range ends ({end}) before it starts ({start})")
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]


def span(days: Sequence[dt.date]) -> str:
    """`2018-03-12`, or `2018-03-12..2018-09-02` for several days."""
    first, last = min(days), max(days)
    return first.isoformat() if first == last else f"{first}..{last}"


def parse_sources(requested: list[str] | tuple[str, ...] | None) -> list[str]:
    sources = list(requested) if requested else list(DEFAULT_SOURCES)
    unknown = [s for s in sources if s not in KNOWN_SOURCES]
    if unknown:
        raise InfluenceError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(KNOWN_SOURCES)}")
    return sorted(set(sources), key=sources.index)


@contextmanager
def _stage(days: dt.date | Sequence[dt.date], run_id: str, stage: str, paths: Paths,
           day_seconds: dict[dt.date, float] | None = None) -> Iterator[dict[str, Any]]:
    """Time a stage and write its result into the run directory of each of its days. A stage
    done once for several days gives each day the seconds in `day_seconds` (filled in by the
    stage) plus an equal share of the rest."""
    days = [days] if isinstance(days, dt.date) else sorted(days)
    details: dict[str, Any] = {}
    day_seconds = {} if day_seconds is None else day_seconds
    started_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    _notify(run_id, stage, "running")

    def write(status: str, error: str | None) -> float:
        seconds = time.monotonic() - started
        shared = max(0.0, seconds - sum(day_seconds.values())) / len(days)
        for day in days:
            audit.write_stage_result(
                audit.run_directory(paths, day, run_id),
                stage,
                {"stage": stage, "status": status, "started_at": started_at.isoformat(),
                 "seconds": day_seconds.get(day, 0.0) + shared, "details": details, "error": error,
                 **({"days": span(days), "range_seconds": seconds} if len(days) > 1 else {})},
            )
        return seconds

    try:
        yield details
    except BaseException as error:
        message = one_line(error)
        write("failed", message)
        _notify(run_id, stage, "failed", message)
        raise
    seconds = write("success", None)
    _notify(run_id, stage, "success", f"{seconds:.1f}s")


# --------------------------------------------------------------------------------------- locking


def _lock_path(paths: Paths) -> Path:
    return paths.warehouse.with_name(paths.warehouse.name + ".lock")


def _build_marker(paths: Paths) -> Path:
    return paths.warehouse.with_name(paths.warehouse.name + ".build.json")


@contextmanager
def warehouse_lock(paths: Paths, run_id: str, stage: str, timeout_seconds: float | None = None,
                   blocker: Callable[[], str | None] | None = None) -> Iterator[None]:
    """Exclusive lock on the working warehouse. The lock file holds who has it, for the message a
    waiting run prints. The kernel releases a flock when its holder dies, even by SIGKILL.
    `blocker`, checked while holding the lock, names a reason to keep waiting (None: go ahead)."""
    if timeout_seconds is None:
        timeout_seconds = float(os.environ.get("INFLUENCE_LOCK_TIMEOUT_SECONDS", DEFAULT_LOCK_TIMEOUT_SECONDS))
    lock_file = _lock_path(paths)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_seconds
        announced = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                busy = f"{_read_holder(lock_file)} holds the warehouse lock"
            else:
                busy = blocker() if blocker else None
                if busy is None:
                    break
                fcntl.flock(descriptor, fcntl.LOCK_UN)
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"{paths.warehouse}: busy, {busy}"
                    f" (waited {timeout_seconds:.0f}s; INFLUENCE_LOCK_TIMEOUT_SECONDS sets the wait)"
                )
            if not announced:
                _notify(run_id, stage, "waiting", f"waiting for the warehouse: {busy}")
                print(f"{stage}: waiting for the warehouse lock, {busy}", flush=True)
                announced = True
            time.sleep(0.5)
        os.ftruncate(descriptor, 0)
        os.pwrite(
            descriptor,
            json.dumps({"run_id": run_id, "stage": stage, "pid": os.getpid(),
                        "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}).encode(),
            0,
        )
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _read_holder(lock_file: Path) -> str:
    try:
        holder = json.loads(lock_file.read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        holder = {}
    if not holder:
        return "another process"
    return f"run {holder.get('run_id')} ({holder.get('stage')}, pid {holder.get('pid')}, since {holder.get('since')})"


def _write_build_marker(paths: Paths, run_id: str, days: Sequence[dt.date], state: str) -> None:
    marker = _build_marker(paths)
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(json.dumps({"run_id": run_id, "day": span(days), "state": state}))
    os.replace(temporary, marker)


def _read_build_marker(paths: Paths) -> dict[str, Any]:
    marker = _build_marker(paths)
    return json.loads(marker.read_text()) if marker.exists() else {}


def _unpublished_build_of_another_day(paths: Paths, days: Sequence[dt.date]) -> str | None:
    """The lease: a build that waits for its audit and publish (state `built`) belongs to its run
    until that run publishes or fails. A rerun of the same day (or range) supersedes it."""
    build = _read_build_marker(paths)
    if build.get("state") == "built" and build.get("day") != span(days):
        return (f"run {build.get('run_id')} built {build.get('day')} and has not audited and published it yet"
                f" (if that run is dead, rerun {build.get('day')})")
    return None


def _release_build(paths: Paths, run_id: str, days: Sequence[dt.date], state: str) -> None:
    if _read_build_marker(paths).get("run_id") == run_id:
        _write_build_marker(paths, run_id, days, state)


def _require_own_build(paths: Paths, run_id: str, days: Sequence[dt.date]) -> None:
    build = _read_build_marker(paths)
    if build.get("run_id") != run_id or build.get("state") != "built":
        raise StaleBuildError(
            f"{paths.warehouse}: last built by run {build.get('run_id')} for {build.get('day')}"
            f" ({build.get('state')}), not by this run; rerun {span(days)} to audit and publish it"
        )


# ----------------------------------------------------------------------------------------- tasks


def extract(day: dt.date, source: str, run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """Extract one source for one day into raw Parquet partitions (atomic, idempotent)."""
    import extractors

    paths = paths or current_paths()
    parse_sources([source])
    with _stage(day, run_id, f"extract-{source}", paths) as details:
        manifests = extractors.extract(
            source, day, samples_dir=paths.samples, raw_dir=paths.raw, quarantine_dir=paths.quarantine,
            cache_dir=paths.extractor_cache,
        )
        details["manifests"] = [json.loads(json.dumps(asdict(m), default=str)) for m in manifests]
        events = {m.network: m.rows_written for m in manifests if m.entity == "events"}
        rejected = sum(m.rows_rejected for m in manifests)
        details["summary"] = {"events_by_network": events, "rows_rejected": rejected}
    return {"source": source, "events_by_network": events, "rows_rejected": rejected}


def extract_days(days: Sequence[dt.date], source: str, run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """`extract` for each day, in order; stops at the first day that fails."""
    events: dict[str, int] = {}
    rejected = 0
    for day in sorted(days):
        summary = extract(day, source, run_id, paths)
        for network, rows in summary["events_by_network"].items():
            events[network] = events.get(network, 0) + rows
        rejected += summary["rows_rejected"]
    return {"source": source, "days": len(days), "events_by_network": events, "rows_rejected": rejected}


def validate_raw(day: dt.date, run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """Great Expectations suites over the day's raw partitions; an error-severity failure stops the run."""
    from influence import quality

    paths = paths or current_paths()
    with _stage(day, run_id, "validate_raw", paths) as details:
        report = quality.validate_raw(day, paths)
        _record_report(details, report)
    return {"checks": len(report.results), "warnings": len(report.warnings)}


def _check_workers() -> int:
    return max(1, int(os.environ.get("INFLUENCE_CHECK_WORKERS", min(4, os.cpu_count() or 1))))


def _for_each_day(step: Callable[[dt.date, str, Paths], dict[str, Any]], days: Sequence[dt.date], run_id: str,
                  paths: Paths, stage: str, workers: int | None = None,
                  on_day: Callable[[dt.date], None] | None = None,
                  stop: threading.Event | None = None) -> list[dict[str, Any]]:
    """`step(day, run_id, paths)` for every day, in up to `workers` processes (default:
    INFLUENCE_CHECK_WORKERS, else the cores, at most 4). The checks are pure Python work in GX
    (about 1 s a day for the raw suites, whatever the day's size on a small network), so on a long
    range processes pay off; each day writes its own stage result as it would in a daily run, and
    `on_day(day)` is called as each day passes. The first failure cancels the days not started and
    is raised. Once `stop` is set, the days not started are cancelled and the days done returned."""
    days = sorted(days)
    workers = min(len(days), workers or _check_workers())
    summaries: dict[dt.date, dict[str, Any]] = {}
    # a worker first imports GX (4-6 s): for a few days the calling process is as fast
    if workers <= 1 or len(days) < MIN_DAYS_FOR_WORKERS:
        for day in days:
            if stop is not None and stop.is_set():
                break
            summaries[day] = step(day, run_id, paths)
            if on_day is not None:
                on_day(day)
        return [summaries[day] for day in days if day in summaries]
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    _notify(run_id, stage, "running")
    # spawn, not fork: the caller may be an Airflow task process with threads and open connections
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(step, day, run_id, paths): day for day in days}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=None if stop is None else 0.5, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    for other in pending:
                        other.cancel()
                    raise error
                summaries[futures[future]] = future.result()
                _notify(run_id, stage, "success", "")  # the worker's own notice stays in its process
                if on_day is not None:
                    on_day(futures[future])
            if stop is not None and stop.is_set():
                for other in pending:
                    other.cancel()
                break
    return [summaries[day] for day in days if day in summaries]


class _RawChecksGate:
    """For `validate_raw_and_build_days`: lets dbt build a day once the raw checks of that day and
    of every day before it have passed, and fails the build as soon as any day's checks fail (the
    range fails then, so nothing more is worth building)."""

    def __init__(self) -> None:
        self._passed: set[dt.date] = set()
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self.build_ended = threading.Event()  # the checks of the days not started are not needed

    def passed(self, day: dt.date) -> None:
        with self._changed:
            self._passed.add(day)
            self._changed.notify_all()

    def failed(self, error: BaseException) -> None:
        with self._changed:
            self._error = error
            self._changed.notify_all()

    def __call__(self, day: dt.date, timeout: float) -> bool:
        """influence.dbt.DayGate (days are asked for in order, so the earlier ones have passed)."""
        with self._changed:
            self._changed.wait_for(lambda: day in self._passed or self._error is not None, timeout)
            if self._error is not None:
                raise self._error
            return day in self._passed


def dbt_build(day: dt.date, run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """dbt build (models and tests) for the day into the working warehouse, under the lock, and
    the dbt docs of what it built."""
    return dbt_build_days([day], run_id, paths)


def dbt_build_days(days: Sequence[dt.date], run_id: str, paths: Paths | None = None,
                   gate: DayGate | None = None) -> dict[str, Any]:
    """dbt builds the days in order in one process, then tests them (`influence.dbt.build_days`),
    under the lock; the build lease then covers the whole range until it is published. With
    `gate`, each day waits for it (`validate_raw_and_build_days`)."""
    from influence import dbt

    paths = paths or current_paths()
    days = sorted(days)
    run_dir = audit.run_directory(paths, days[-1], run_id)
    day_seconds: dict[dt.date, float] = {}
    with _stage(days, run_id, "dbt_build", paths, day_seconds) as details:
        with warehouse_lock(paths, run_id, "dbt_build",
                            blocker=lambda: _unpublished_build_of_another_day(paths, days)):
            _write_build_marker(paths, run_id, days, "building")
            result = dbt.build_days(days, paths, run_dir, gate=gate,
                                    on_day_built=lambda day: _notify(run_id, "dbt_build", DAY_DONE, day.isoformat()))
            _write_build_marker(paths, run_id, days, "built")
        day_seconds.update(result.day_seconds)
        slowest = sorted(result.node_seconds.items(), key=lambda item: -item[1])[:10]
        details.update(
            dbt_seconds=round(result.seconds, 3),
            status_counts=result.status_counts,
            slowest_nodes=dict(slowest),
            dbt_warnings=result.warnings,
            run_results=str(result.run_results),
            data_docs=str(result.docs),
        )
    return {"status_counts": result.status_counts, "seconds": round(result.seconds, 3)}


def validate_raw_and_build_days(days: Sequence[dt.date], run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """The raw checks (`validate_raw`, day by day) and `dbt_build_days` side by side, for a range
    (the influence_backfill DAG): dbt builds each day as soon as its raw checks, and those of the
    days before it, have passed, while the checks of the later days go on beside it. A day is still never built on raw
    data that failed its checks: the first failure stops the build before that day (the dbt_build
    stage fails naming it) and is raised.

    Why: a small day's dbt build is Python work on one core (dbt's cost per node) and so are its
    Great Expectations checks (about 1.3 s a day for a Stack Exchange day): one after the other
    they left a core idle for the whole range. The checks get one process fewer than the cores,
    so the build keeps a core to itself; with one check process (two cores) they run in a thread
    of this process, beside the build's own process."""
    paths = paths or current_paths()
    days = sorted(days)
    gate = _RawChecksGate()
    checked: list[dict[str, Any]] = []

    def check_raw() -> None:
        # The build is the range's critical path: when both want a core, the checks give it up
        # (on Linux a thread has its own nice value; check processes inherit it).
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECKS_NICENESS)
        try:
            checked.extend(_for_each_day(validate_raw, days, run_id, paths, "validate_raw",
                                         workers=max(1, _check_workers() - 1), on_day=gate.passed,
                                         stop=gate.build_ended))
        except BaseException as error:  # noqa: BLE001 - handed to the build, which raises it
            gate.failed(error)

    checks = threading.Thread(target=check_raw, name="raw-checks", daemon=True)
    checks.start()
    try:
        build = dbt_build_days(days, run_id, paths, gate=gate)
    finally:
        gate.build_ended.set()
        checks.join()
    return {"raw_checks": {"days": len(checked), "checks": sum(s["checks"] for s in checked),
                           "warnings": sum(s["warnings"] for s in checked)},
            "build": build}


def validate_marts(day: dt.date, run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """Great Expectations suites over the day's marts in the working warehouse (the audit of WAP)."""
    summary = validate_marts_days([day], run_id, paths)
    return {"checks": summary["checks"], "warnings": summary["warnings"]}


def validate_marts_days(days: Sequence[dt.date], run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """The mart suites for each day (each day against the one before), under the lock and only on
    this run's own build; several days at once (`_for_each_day`, the warehouse opened read-only by
    each). The first day that fails stops the run, and then nothing of it is published."""
    paths = paths or current_paths()
    try:
        with warehouse_lock(paths, run_id, "validate_marts"):
            _require_own_build(paths, run_id, days)
            summaries = _for_each_day(_validate_marts_of_day, days, run_id, paths, "validate_marts")
    except InfluenceError as error:
        _record_failure_of_days_not_checked(days, run_id, "validate_marts", paths, error)
        raise
    return {"days": len(summaries), "checks": sum(s["checks"] for s in summaries),
            "warnings": sum(s["warnings"] for s in summaries)}


def _record_failure_of_days_not_checked(days: Sequence[dt.date], run_id: str, stage: str, paths: Paths,
                                        error: InfluenceError) -> None:
    """A failure before a day's own check ran (busy or rebuilt warehouse) is that day's stage result."""
    for day in days:
        run_dir = audit.run_directory(paths, day, run_id)
        if stage not in audit.read_stage_results(run_dir):
            audit.write_stage_result(run_dir, stage, {
                "stage": stage, "status": "failed", "started_at": dt.datetime.now(dt.UTC).isoformat(),
                "seconds": 0.0, "details": {}, "error": one_line(error)})


def _validate_marts_of_day(day: dt.date, run_id: str, paths: Paths) -> dict[str, Any]:
    """The caller holds the warehouse lock for this run."""
    from influence import quality

    with _stage(day, run_id, "validate_marts", paths) as details:
        report = quality.validate_marts(day, paths)
        _record_report(details, report)
    return {"checks": len(report.results), "warnings": len(report.warnings)}


def publish(day: dt.date, run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """Swap the audited marts and the run audit into the published DuckDB file and Parquet mirror."""
    summary = publish_days([day], run_id, paths)
    return {**summary, "persons_scored": summary["persons_scored"].get(day.isoformat())}


def publish_days(days: Sequence[dt.date], run_id: str, paths: Paths | None = None) -> dict[str, Any]:
    """Swap the audited days of the marts and their audit rows (one per day) into the published
    DuckDB file and Parquet mirror, all in one version."""
    from influence import publish as publishing

    paths = paths or current_paths()
    days = sorted(days)
    started = time.monotonic()
    with _stage(days, run_id, "publish", paths) as details:
        with warehouse_lock(paths, run_id, "publish"):
            _require_own_build(paths, run_id, days)
            rows_before = audit.read_audit_log(paths)
            published_rows: list[audit.AuditRow] = []

            def audit_table(mart_rows: dict[str, int], persons_scored: dict[dt.date, int]):  # noqa: ANN202
                published_rows.clear()
                for day in days:
                    row = audit.build_audit_row(
                        run_id=run_id, day=day, run_dir=audit.run_directory(paths, day, run_id), status="published",
                        publish_details={"mart_rows": mart_rows, "persons_scored": persons_scored.get(day)},
                    )
                    row.stage_seconds["publish"] = round((time.monotonic() - started) / len(days), 3)
                    published_rows.append(row)
                return audit.audit_arrow_table([*rows_before, *(json.loads(row.to_json()) for row in published_rows)])

            result = publishing.publish_marts(paths, days, audit_table)
            for row in published_rows:
                audit.append_audit_row(paths, row)
            _release_build(paths, run_id, days, "published")
        persons_scored = {day.isoformat(): count for day, count in result.persons_scored.items()}
        details.update(
            version=result.version, mart_rows=result.mart_rows, persons_scored=persons_scored,
            published_db=str(paths.published_db),
        )
    return {"version": result.version, "persons_scored": persons_scored, "mart_rows": result.mart_rows}


def record_failure(day: dt.date, run_id: str, stage: str, error: BaseException | str | None,
                   paths: Paths | None = None) -> audit.AuditRow | None:
    """Record a failed run in the audit log and refresh the published `run_audit` (marts unchanged).
    Called when a task has failed for good (Airflow's on_failure_callback), so once per failed task:
    the run's first failure is recorded, later ones of the same run are not (None)."""
    rows = record_failure_days([day], run_id, stage, error, paths)
    return rows[0] if rows else None


def record_failure_days(days: Sequence[dt.date], run_id: str, stage: str, error: BaseException | str | None,
                        paths: Paths | None = None) -> list[audit.AuditRow]:
    """`record_failure` for a run of several days: a failed row for each (none was published) that
    the run has not recorded yet. Returns the rows appended."""
    from influence import publish as publishing

    paths = paths or current_paths()
    days = sorted(days)
    message = one_line(error) if isinstance(error, BaseException) else (error or "failed (no error message)")
    rows = [
        audit.build_audit_row(
            run_id=run_id, day=day, run_dir=audit.run_directory(paths, day, run_id),
            status="failed", failed_stage=stage, error=message,
        )
        for day in days
    ]
    rows = [row for row in rows if audit.append_audit_row(paths, row, unless_recorded=True)]
    _release_build(paths, run_id, days, "failed")
    try:
        # Short wait: if another run holds the warehouse, its own publish will include these rows.
        with warehouse_lock(paths, run_id, "record_failure", timeout_seconds=2):
            publishing.publish_audit(paths, audit.audit_arrow_table(audit.read_audit_log(paths)))
    except WarehouseBusyError:
        pass
    return rows


def _record_report(details: dict[str, Any], report: Any) -> None:
    details["checks"] = [asdict(result) for result in report.results]
    details["data_docs"] = str(report.data_docs) if report.data_docs else None
    blocking = report.blocking_failures
    if blocking:
        first = blocking[0]
        more = f" (and {len(blocking) - 1} more blocking checks)" if len(blocking) > 1 else ""
        raise QualityGateError(
            f"{report.stage} checks for {report.day} failed: {first.suite}: {first.check}: {first.observed}{more}"
        )
