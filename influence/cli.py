"""`influence` console script: run the daily DAG locally, and read the published scores.

    influence run --start 2012-07-01 --end 2012-07-07 [--start D --end D ...] [--source higgs --source stackexchange]
    influence backfill --start 2018-03-12 --end 2018-09-02 [--source stackexchange]
    influence top [--date D] [--network N] [-n 20]
    influence show PERSON_ID [--date D]
    influence status [-n 10]

`run` executes the real Airflow DAG influence_daily in this process with `dag.test()`, one run per
day (no scheduler, no server); several ranges (`--start`/`--end` pairs, in order) run in the same
process, so they pay its start-up once (about 20 s: Airflow, its execution API, GX). `backfill`
runs the whole range as one run of influence_backfill. Airflow's metadata lives in SQLite under
`$AIRFLOW_HOME` (default `<project>/.airflow`), created on first use. The other commands only read
the published DuckDB file, opened read-only. Every path follows the INFLUENCE_* environment
variables (see docs/architecture.md), e.g. `INFLUENCE_DATA_DIR=/tmp/elsewhere influence run ...`
runs against another data directory.
The pipeline's own errors (a bad source file, a failed check, a busy warehouse, nothing published)
print one line and exit 1; bad arguments exit 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from influence.errors import InfluenceError, NothingPublishedError
from influence.settings import DAGS_DIR, PROJECT_ROOT, Paths, paths as current_paths

DAILY_DAG_ID = "influence_daily"
BACKFILL_DAG_ID = "influence_backfill"
STAGE_COLUMNS = ("extract", "validate_raw", "dbt_build", "validate_marts", "publish")
STAGE_HEADERS = ("extract", "raw checks", "dbt build", "mart checks", "publish", "total")


def _column_of(stage: str) -> str:
    """The pipeline stage a recorded stage belongs to (`extract-higgs` is `extract`)."""
    return next((column for column in STAGE_COLUMNS if stage == column or stage.startswith(column + "-")), stage)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)  # exits 2 with a usage line on bad arguments
    try:
        if arguments.command in ("run", "backfill"):
            ranges = _ranges(arguments)
            from influence.pipeline import parse_sources

            try:
                sources = parse_sources(arguments.source)
            except InfluenceError as error:
                arguments.command_parser.error(str(error))
            if arguments.command == "backfill":
                (start, end), = ranges
                return backfill(start, end, sources)
            return run_days(ranges, sources)
        if arguments.command == "top":
            return show_top(arguments.date, arguments.network, arguments.n)
        if arguments.command == "show":
            return show_person(arguments.person_id, arguments.date)
        if arguments.command == "status":
            return show_status(arguments.n)
    except InfluenceError as error:
        print(f"influence: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("influence: interrupted", file=sys.stderr)
        return 130
    parser.print_help()
    return 2


def _ranges(arguments: argparse.Namespace) -> list[tuple[dt.date, dt.date]]:
    """The (start, end) pairs of `run`/`backfill`, checked: in order, none overlapping (each day
    builds on the days before it). Exits 2 with a usage line otherwise."""
    error = arguments.command_parser.error
    if len(arguments.start) != len(arguments.end):
        error(f"give one --end per --start (got {len(arguments.start)} --start, {len(arguments.end)} --end)")
    ranges = list(zip(arguments.start, arguments.end, strict=True))
    if arguments.command == "backfill" and len(ranges) > 1:
        error("backfill runs one range: give one --start and one --end")
    previous_end: dt.date | None = None
    for start, end in ranges:
        if end < start:
            error(f"--end {end} is before --start {start}")
        if previous_end is not None and start <= previous_end:
            error(f"range {start}..{end} starts on or before the end of the previous one ({previous_end}); give ranges in order")
        previous_end = end
    return ranges


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="influence",
        description="Daily social influence scores: run the pipeline, read the published marts.",
        epilog="Paths follow INFLUENCE_DATA_DIR / INFLUENCE_*_DIR; Airflow metadata follows AIRFLOW_HOME.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run", help="run the influence_daily DAG in-process for each day of a range (or of several, in order)")
    backfill_parser = commands.add_parser(
        "backfill", help="run a range of days as one run of the influence_backfill DAG (faster for many days)")
    for command in (run, backfill_parser):
        command.set_defaults(command_parser=command)
        more_ranges = "; repeat --start/--end for more ranges" if command is run else ""
        command.add_argument("--start", type=_date, required=True, action="append",
                             help=f"first day (YYYY-MM-DD, UTC){more_ranges}")
        command.add_argument("--end", type=_date, required=True, action="append", help="last day, inclusive")
        command.add_argument("--source", action="append", metavar="SOURCE",
                             help="source to extract (repeatable): higgs, stackexchange, synthetic; default higgs and stackexchange")
    top = commands.add_parser("top", help="the highest scores of a day")
    top.add_argument("--date", type=_date, help="day (default: the latest published)")
    top.add_argument("--network", help="rank within one network (e.g. twitter, se_quantumcomputing)")
    top.add_argument("-n", type=_positive, default=20, help="how many (default 20)")
    show = commands.add_parser("show", help="one person's score, rank, factors and per-network scores")
    show.add_argument("person_id", help="person id, e.g. twitter:88 or stackexchange:12345")
    show.add_argument("--date", type=_date, help="day (default: the latest published)")
    status = commands.add_parser("status", help="the last runs from run_audit, and why any failed")
    status.add_argument("-n", type=_positive, default=10, help="how many runs (default 10)")
    return parser


# ------------------------------------------------------------------------------------------- run


def start_airflow(paths: Paths) -> None:
    """Configure Airflow (before anything imports it: it reads its configuration at import), create
    its SQLite metadata DB if missing, build its in-process execution API, and start the dbt worker.

    Three CPU-bound start-ups share the machine's two cores: `airflow db migrate` on a new Airflow
    home (5.9 s, a child process); the execution API in this process (10.3 s from cold: `dag.test`
    runs every task through it, and its first request builds the API's versioned routes), which
    needs no metadata DB, so it is built while the migration runs; and the dbt worker (importing
    dbt, parsing the project: another child), which is not needed before the first build, so it
    starts when a core is free: at once if there is nothing to migrate, else after the migration.
    Measured on a one-day Stack Exchange run with a new Airflow home: 40.1-42.3 s when the migration
    ran first and the first task built the API, 33.3-34.1 s like this (a migrated home: no change)."""
    from influence import dbt

    airflow_home = Path(os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / ".airflow")))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_DIR))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    airflow_home.mkdir(parents=True, exist_ok=True)
    migration = None
    if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in os.environ and not (airflow_home / "airflow.db").exists():
        migration = subprocess.Popen([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    else:
        dbt.start_worker(paths)
    try:
        import httpx
        from airflow.sdk.execution_time.supervisor import in_process_api_server

        api = in_process_api_server()  # cached for the process: every task's client reuses it
        httpx.Client(transport=api.transport, base_url="http://in-process.invalid.").get("/health").raise_for_status()
    finally:
        if migration is not None:
            stdout, stderr = migration.communicate()
    if migration is not None:
        if migration.returncode != 0:
            last = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
            raise InfluenceError(f"airflow db migrate in {airflow_home} failed: {last[0]}")
        dbt.start_worker(paths)


def _load_dag(dag_id: str = DAILY_DAG_ID) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    dag_file = DAGS_DIR / f"{dag_id}.py"
    bag = DagBag(dag_folder=str(dag_file))
    if bag.import_errors:
        file, error = next(iter(bag.import_errors.items()))
        raise InfluenceError(f"{file}: DAG does not import: {error.strip().splitlines()[-1]}")
    if dag_id not in bag.dags:
        raise InfluenceError(f"{dag_file}: defines no DAG {dag_id!r}")
    return bag.dags[dag_id]


def _ensure_pool() -> None:
    from airflow.models.pool import Pool

    from influence.orchestration import WAREHOUSE_POOL

    Pool.create_or_update_pool(
        name=WAREHOUSE_POOL, slots=1,
        description="One writer at a time on the DuckDB working warehouse", include_deferred=False,
    )


@contextlib.contextmanager
def _output_to(log_file: Path) -> Iterator[TextIO]:
    """Send everything written to fds 1 and 2 (Airflow, dbt, GX logs) to a log file; yield a stream
    on the real terminal for the progress display."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with open(log_file, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


class _DayProgress:
    """Stage states of one day's run, fed by pipeline stage observers."""

    SYMBOLS = {"running": "[yellow]…[/]", "waiting": "[magenta]waiting[/]", "success": "[green]✓[/]", "failed": "[red]✗[/]"}

    def __init__(self, day: dt.date) -> None:
        self.day = day
        self.stages: dict[str, tuple[str, str]] = {}
        self.started = time.monotonic()
        self.finished: float | None = None

    def observe(self, run_id: str, stage: str, state: str, message: str) -> None:
        from influence.pipeline import DAY_DONE

        if state != DAY_DONE:  # one day: its stage's own success says it
            self.stages[stage] = (state, message)

    @property
    def stage_seconds(self) -> float:
        """Time spent inside pipeline stages; the rest of the day's wall time is Airflow's."""
        return sum(float(m.removesuffix("s")) for state, m in self.stages.values() if state == "success" and m.endswith("s"))

    def cells(self) -> list[str]:
        cells = [str(self.day)]
        for column in STAGE_COLUMNS:
            # The mapped extract tasks share one cell: a symbol per source, then the slowest time.
            entries = [v for s, v in self.stages.items() if s == column or s.startswith(column + "-")]
            if not entries:
                cells.append("[dim]·[/]")
                continue
            symbols = "".join(self.SYMBOLS.get(state, state) for state, _ in entries)
            times = [float(m.removesuffix("s")) for state, m in entries if state == "success" and m.endswith("s")]
            cells.append(f"{symbols} {max(times):.1f}s" if times and len(times) == len(entries) else symbols)
        elapsed = (self.finished or time.monotonic()) - self.started
        cells.append(f"{elapsed:.1f}s")
        return cells


def run_days(ranges: list[tuple[dt.date, dt.date]], sources: list[str]) -> int:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    paths = current_paths()
    log_file = paths.runs / "logs" / f"influence-run-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.log"
    console = Console(file=sys.stdout, soft_wrap=True, highlight=False)
    spans = ", ".join(f"{start} → {end}" for start, end in ranges)
    console.print(f"influence run {spans}, sources: {', '.join(sources)}; log: {log_file}")
    from influence.pipeline import parse_days

    days = [day for start, end in ranges for day in parse_days(start, end)]
    progress: list[_DayProgress] = []

    def table() -> Table:
        grid = Table(box=None, pad_edge=False)
        for header in ("day", *STAGE_HEADERS):
            grid.add_column(header)
        for day_progress in progress:
            grid.add_row(*day_progress.cells())
        return grid

    from influence import pipeline

    total_started = time.monotonic()
    failure: str | None = None
    with _output_to(log_file) as terminal:
        screen = Console(file=terminal, force_terminal=terminal.isatty(), highlight=False)
        with Live(table(), console=screen, auto_refresh=screen.is_terminal, refresh_per_second=4,
                  transient=False) as live:
            start_airflow(paths)
            dag = _load_dag()
            _ensure_pool()
            startup = time.monotonic() - total_started
            for day in days:
                day_progress = _DayProgress(day)
                progress.append(day_progress)

                def observe(run_id: str, stage: str, state: str, message: str, _p: _DayProgress = day_progress) -> None:
                    _p.observe(run_id, stage, state, message)
                    live.update(table())

                pipeline.add_stage_observer(observe)
                try:
                    failure = _run_one_day(dag, day, sources, paths)
                finally:
                    pipeline.remove_stage_observer(observe)
                    day_progress.finished = time.monotonic()
                    live.update(table(), refresh=True)
                if failure:
                    break
        screen.print()
    elapsed = time.monotonic() - total_started
    if failure:
        console.print(f"[red]✗[/] {failure}", markup=True)
        console.print(f"  see `influence status`; full log: {log_file}")
        return 1
    console.print(
        f"[green]✓[/] {len(days)} day(s) published in {elapsed:.1f}s → {paths.published_db} "
        f"and {paths.published_parquet}/"
    )
    from influence import audit

    last_run = next((row for row in reversed(audit.read_audit_log(paths)) if row["day"] == days[-1].isoformat()), None)
    for docs in (last_run or {}).get("data_docs") or []:
        console.print(f"  {_docs_label(docs)} of {days[-1]}: {docs}")
    day_seconds = sum((p.finished or 0) - p.started for p in progress)
    stage_seconds = sum(p.stage_seconds for p in progress)
    console.print(
        f"  timing: startup {startup:.1f}s (Airflow import and execution API, DAG parse, metadata DB); per day on average "
        f"{stage_seconds / len(progress):.1f}s in pipeline stages + {(day_seconds - stage_seconds) / len(progress):.1f}s "
        "Airflow orchestration (dag.test scheduling, task setup, XCom)"
    )
    return 0


class _RangeProgress:
    """Stage states of a backfill run: how many of its days each stage has done, and its wall time."""

    def __init__(self, days: list[dt.date]) -> None:
        self.days = days
        self.done: dict[str, int] = {}
        self.states: dict[str, str] = {}
        self.first_seen: dict[str, float] = {}
        self.last_seen: dict[str, float] = {}
        self.started = time.monotonic()

    def observe(self, run_id: str, stage: str, state: str, message: str) -> None:
        from influence.pipeline import DAY_DONE

        column = _column_of(stage)
        now = time.monotonic()
        self.first_seen.setdefault(column, now)
        self.last_seen[column] = now
        if state == DAY_DONE:  # a day of a stage done once for the range (the dbt build)
            self.done[column] = self.done.get(column, 0) + 1
            return
        self.states[column] = state
        if state == "success":
            once_for_all = column in ("dbt_build", "publish")
            self.done[column] = len(self.days) if once_for_all else self.done.get(column, 0) + 1

    def stage_seconds(self, column: str) -> float:
        return self.last_seen.get(column, 0.0) - self.first_seen.get(column, 0.0)

    def cells(self) -> list[str]:
        from influence.pipeline import span

        cells = [span(self.days)]
        for column in STAGE_COLUMNS:
            state = self.states.get(column)
            if state is None:
                cells.append("[dim]·[/]")
                continue
            symbol = _DayProgress.SYMBOLS.get(state, state)
            done = min(len(self.days), self.done.get(column, 0))
            cells.append(f"{symbol} {done}/{len(self.days)} {self.stage_seconds(column):.0f}s")
        cells.append(f"{time.monotonic() - self.started:.0f}s")
        return cells


def backfill(start: dt.date, end: dt.date, sources: list[str]) -> int:
    """One run of influence_backfill for the whole range, with a live count of days per stage."""
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from influence import pipeline

    paths = current_paths()
    days = pipeline.parse_days(start, end)
    log_file = paths.runs / "logs" / f"influence-backfill-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.log"
    console = Console(file=sys.stdout, soft_wrap=True, highlight=False)
    console.print(f"influence backfill {start} → {end} ({len(days)} days), sources: {', '.join(sources)}; log: {log_file}")
    progress = _RangeProgress(days)

    def table() -> Table:
        grid = Table(box=None, pad_edge=False)
        for header in ("days", *STAGE_HEADERS):
            grid.add_column(header)
        grid.add_row(*progress.cells())
        return grid

    started = time.monotonic()
    with _output_to(log_file) as terminal:
        screen = Console(file=terminal, force_terminal=terminal.isatty(), highlight=False)
        with Live(table(), console=screen, auto_refresh=screen.is_terminal, refresh_per_second=2, transient=False) as live:
            start_airflow(paths)
            dag = _load_dag(BACKFILL_DAG_ID)
            _ensure_pool()

            def observe(run_id: str, stage: str, state: str, message: str) -> None:
                progress.observe(run_id, stage, state, message)
                live.update(table())

            pipeline.add_stage_observer(observe)
            try:
                dag_run = dag.test(run_conf={"start": start.isoformat(), "end": end.isoformat(), "sources": sources})
            finally:
                pipeline.remove_stage_observer(observe)
                live.update(table(), refresh=True)
        screen.print()
    elapsed = time.monotonic() - started
    if str(dag_run.state) != "success":
        reason = _first_failed_stage(paths, days, dag_run.run_id) or f"Airflow run {dag_run.run_id} ended {dag_run.state}"
        console.print(f"[red]✗[/] backfill {pipeline.span(days)} failed at {reason}; nothing of it was published", markup=True)
        console.print(f"  see `influence status`; full log: {log_file}")
        return 1
    console.print(
        f"[green]✓[/] {len(days)} day(s) published in {elapsed:.1f}s ({elapsed / len(days):.2f}s a day) → "
        f"{paths.published_db} and {paths.published_parquet}/"
    )
    console.print("  wall time per stage: " + ", ".join(
        f"{column} {progress.stage_seconds(column):.1f}s" for column in STAGE_COLUMNS if column in progress.first_seen))
    return 0


def _first_failed_stage(paths: Paths, days: list[dt.date], run_id: str) -> str | None:
    """`<stage>: <error>` of the earliest stage of the pipeline (then the earliest day) that the
    run recorded as failed, if any: in a backfill a day's failed raw checks also fail the build of
    the range, and the checks are the cause."""
    from influence import audit

    failed = [(name, stage.get("error"), day) for day in days
              for name, stage in audit.read_stage_results(audit.run_directory(paths, day, run_id)).items()
              if stage.get("status") == "failed"]
    if not failed:
        return None
    position = {column: index for index, column in enumerate(STAGE_COLUMNS)}
    name, error, _ = min(failed, key=lambda f: (position.get(_column_of(f[0]), len(position)), f[2]))
    return f"{name}: {error}"


def _run_one_day(dag: Any, day: dt.date, sources: list[str], paths: Paths) -> str | None:
    """Run the DAG for the data interval [day, day+1); return a one-line failure, or None."""

    # A manual run's data interval is the last complete interval before its logical date, so the
    # logical date day+1 00:00 UTC gives the interval [day, day+1): the same day a scheduled run
    # for `day` processes.
    logical_date = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    dag_run = dag.test(logical_date=logical_date, run_conf={"sources": sources})
    interval_start = dag_run.data_interval_start
    if interval_start is None or interval_start.date() != day:
        return f"{day}: Airflow gave data interval {interval_start}..{dag_run.data_interval_end}, expected {day}"
    if str(dag_run.state) == "success":
        return None
    failed = _first_failed_stage(paths, [day], dag_run.run_id)
    if failed:
        return f"{day} failed at {failed}"
    unfinished = [task.task_id for task in dag_run.get_task_instances() if str(task.state) != "success"]
    return f"{day} failed: Airflow run {dag_run.run_id} ended {dag_run.state} (tasks not successful: {', '.join(unfinished)})"


# -------------------------------------------------------------------------------------- readers


def _published() -> Any:
    import duckdb

    database = current_paths().published_db
    if not database.exists():
        raise NothingPublishedError(f"{database}: nothing published yet; run `influence run --start D --end D` first")
    return duckdb.connect(str(database), read_only=True)


def _tables(connection: Any) -> set[str]:
    return {name for (name,) in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _columns(connection: Any, table: str) -> list[str]:
    return [row[0] for row in connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()]


def _resolve_day(connection: Any, day: dt.date | None) -> dt.date:
    if "fct_person_scores" not in _tables(connection):
        raise NothingPublishedError(f"{current_paths().published_db}: no fct_person_scores published yet")
    latest, days = connection.execute("SELECT max(score_date), count(DISTINCT score_date) FROM fct_person_scores").fetchone()
    if latest is None:
        raise NothingPublishedError(f"{current_paths().published_db}: fct_person_scores is empty")
    if day is None:
        return latest
    found = connection.execute("SELECT count(*) FROM fct_person_scores WHERE score_date = ?", [day]).fetchone()[0]
    if not found:
        first = connection.execute("SELECT min(score_date) FROM fct_person_scores").fetchone()[0]
        raise NothingPublishedError(f"no scores published for {day} (published: {days} day(s), {first} .. {latest})")
    return day


def _print_table(title: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[_format(value) for value in row])
    Console(highlight=False).print(table)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def show_top(day: dt.date | None, network: str | None, limit: int) -> int:
    with _published() as connection:
        day = _resolve_day(connection, day)
        if network is None:
            wanted = ["rank", "person_id", "score", "percentile", "tier", "networks"]
            columns = [c for c in wanted if c in _columns(connection, "fct_person_scores")]
            rows = connection.execute(
                f"SELECT {', '.join(columns)} FROM fct_person_scores WHERE score_date = ? "
                "ORDER BY rank, person_id LIMIT ?", [day, limit],
            ).fetchall()
            _print_table(f"Top {limit} of {day}", columns, rows)
            return 0
        if "fct_network_scores" not in _tables(connection):
            raise NothingPublishedError("no fct_network_scores published")
        networks = [n for (n,) in connection.execute("SELECT DISTINCT network FROM fct_network_scores ORDER BY 1").fetchall()]
        if network not in networks:
            raise InfluenceError(f"unknown network {network!r}; published networks: {', '.join(networks)}")
        rows = connection.execute(
            "SELECT n.network_rank, n.account_key, a.person_id, n.score, n.network_percentile, n.tier "
            "FROM fct_network_scores n LEFT JOIN dim_accounts a USING (account_key) "
            "WHERE n.score_date = ? AND n.network = ? ORDER BY n.network_rank, n.account_key LIMIT ?",
            [day, network, limit],
        ).fetchall()
        if not rows:
            raise NothingPublishedError(f"no {network} scores published for {day}")
        _print_table(f"Top {limit} of {day} on {network}",
                     ["rank", "account", "person_id", "score", "percentile", "tier"], rows)
    return 0


def show_person(person_id: str, day: dt.date | None) -> int:
    with _published() as connection:
        day = _resolve_day(connection, day)
        columns = _columns(connection, "fct_person_scores")
        row = connection.execute(
            "SELECT * FROM fct_person_scores WHERE score_date = ? AND person_id = ?", [day, person_id]
        ).fetchone()
        if row is None:
            seen = connection.execute(
                "SELECT count(*), max(score_date) FROM fct_person_scores WHERE person_id = ?", [person_id]
            ).fetchone()
            hint = f"; last scored {seen[1]}" if seen[0] else "; never scored (ids look like twitter:88 or stackexchange:12345)"
            raise NothingPublishedError(f"{person_id} has no score on {day}{hint}")
        _print_table(f"{person_id} on {day}", ["field", "value"], list(zip(columns, row, strict=True)))
        tables = _tables(connection)
        if {"fct_network_scores", "dim_accounts"} <= tables:
            # Per-network scores are per account; dim_accounts maps accounts to the person.
            query = (
                "SELECT n.network, n.account_key, n.score, n.network_rank, n.network_percentile, n.tier "
                "FROM fct_network_scores n JOIN dim_accounts a USING (account_key) "
                "WHERE a.person_id = ? AND n.score_date = ? ORDER BY n.score DESC, n.account_key"
            )
            rows = connection.execute(query, [person_id, day]).fetchall()
            _print_table("per-network scores", ["network", "account", "score", "rank", "percentile", "tier"], rows)
        if {"fct_account_factors", "dim_accounts"} <= tables:
            factor_columns = [c for c in _columns(connection, "fct_account_factors")
                              if c not in ("score_date", "model_version", "network", "last_engaged_date")]
            rows = connection.execute(
                f"SELECT {', '.join('f.' + c for c in factor_columns)} FROM fct_account_factors f "
                "JOIN dim_accounts a USING (account_key) WHERE a.person_id = ? AND f.score_date = ? ORDER BY f.account_key",
                [person_id, day],
            ).fetchall()
            if rows:
                _print_table("factor values per account", ["factor", *[str(r[0]) for r in rows]],
                             [(c, *[r[i] for r in rows]) for i, c in enumerate(factor_columns) if i > 0])
    return 0


def show_status(limit: int) -> int:
    """Last runs, newest first, from the audit log (the published run_audit is rebuilt from it)."""
    from rich.console import Console

    from influence import audit

    paths = current_paths()
    rows = audit.read_audit_log(paths)
    interrupted = _interrupted_runs(paths, {row["run_id"] for row in rows})
    if not rows and not interrupted:
        raise NothingPublishedError(f"{paths.runs / audit.AUDIT_LOG_NAME}: no runs recorded yet")
    console = Console(highlight=False, soft_wrap=True)
    for day, run_dir, last_stage in interrupted[-limit:]:
        console.print(
            f"[red]unfinished[/]  {day}  run {run_dir.name}: no end recorded after stage {last_stage}: "
            "still running, or killed (then rerun the day)"
        )
    console.print(f"last {min(limit, len(rows))} of {len(rows)} runs, newest first ({paths.runs / audit.AUDIT_LOG_NAME})")
    for row in reversed(rows[-limit:]):
        events = ", ".join(f"{network} {count:,}" for network, count in sorted((row.get("raw_events_by_network") or {}).items()))
        persons = "" if row.get("persons_scored") is None else f", {row['persons_scored']:,} persons scored"
        seconds = sum((row.get("stage_seconds") or {}).values())
        if row["status"] == "published":
            headline = f"[green]published[/] {row['day']}"
        else:
            headline = f"[red]failed[/]    {row['day']} at {row.get('failed_stage')}"
        console.print(f"{headline}  {row.get('finished_at', '')[:19]}  {seconds:.0f}s  run {row['run_id']}")
        console.print(
            f"    raw events: {events or 'none'}; quarantined {row.get('rows_quarantined', 0):,}{persons}; "
            f"checks {row.get('checks_passed', 0)} ok, {row.get('checks_warned', 0)} warnings, {row.get('checks_failed', 0)} failed"
        )
        if row.get("error"):
            console.print(f"    [red]why:[/] {row['error']}")
        for warning in row.get("warning_checks") or []:
            console.print(f"    [yellow]warning:[/] {warning}")
        for docs in row.get("data_docs") or []:
            console.print(f"    {_docs_label(docs)}: {docs}")
    return 0


def _docs_label(page: str) -> str:
    """Audit rows list the run's documentation pages by path; name what each one is."""
    parts = Path(page).parts
    if "dbt_docs" in parts:
        return "dbt docs"
    return f"GX data docs ({parts[-2]} checks)" if "gx_data_docs" in parts and len(parts) >= 2 else "docs"


def _interrupted_runs(paths: Paths, recorded_run_ids: set[str]) -> list[tuple[str, Path, str]]:
    """Run directories with stage results but no audit row: runs still going, or runs that died
    without recording an end (SIGKILL, power loss); nothing on disk tells the two apart. A later run
    of the same day that recorded its end (published or failed) supersedes them."""
    from influence import audit

    recorded = {audit.run_directory(paths, dt.date(2000, 1, 1), run_id).name for run_id in recorded_run_ids}
    found = []
    for day_dir in sorted(paths.runs.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")):
        for run_dir in sorted(day_dir.iterdir(), key=lambda d: d.stat().st_mtime):
            stages = audit.read_stage_results(run_dir)
            if run_dir.name in recorded or not stages:
                continue
            superseded = any(
                r.name in recorded and r.stat().st_mtime > run_dir.stat().st_mtime for r in day_dir.iterdir()
            )
            if not superseded:
                last = max(stages.items(), key=lambda item: item[1].get("started_at") or "")[0]
                found.append((day_dir.name, run_dir, last))
    return found


def console_main() -> None:
    """The `influence` console script: `main`, then exit without the interpreter's final garbage
    collections. Over Airflow's, dbt's and GX's objects they took 4.6 s of every `influence run`'s
    exit (measured on one Stack Exchange day). Nothing is lost: the atexit handlers still run
    (logging's shutdown, stopping the dbt worker), and every file and database the command wrote
    is closed by then. Not in `main`, which the tests call in their own process."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console_main()
