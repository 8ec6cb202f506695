"""Publish the audited marts for consumers: Parquet files, and a DuckDB database of views over
them, swapped in together as one version.

Layout under the published directory (`INFLUENCE_PUBLISHED_DIR`, default `data/published/`):

    versions/<v>/parquet/              every table of the working warehouse's `marts` schema, plus
                                       `run_audit`, as Parquet:
        <daily mart>/<YYYY-MM-DD>.parquet   one file per day for marts with a day column
        <other table>/data.parquet          dimensions, run_audit
    versions/<v>/influence.duckdb      one view per table in `main`, over that version's files
                                       (named by absolute path), with the warehouse's column types
    versions/<v>/_SUCCESS              marks a complete version
    current -> versions/<v>            the one link a publish replaces
    influence.duckdb -> current/influence.duckdb     stable names for readers (never replaced)
    parquet -> current/parquet                       (read a whole mart with
                                                      read_parquet('parquet/<mart>/*.parquet'))

What a run publishes is what it audited: for a daily mart (one with a `score_date` or
`activity_date` column; dbt rebuilds exactly the run's days: one for a daily run, a range for a
backfill) the run writes those days' files only, and the other days stay as they were published
by their own runs: the new version hard-links the previous version's files. So rows of a day whose
audit failed are never published by a later day's run. Dimensions (no day column) and marts whose
columns changed (a new model version) are written whole. A publish therefore writes the run's days
and the dimensions, and nothing it does grows with the published history. (Until the twenty-third
update of reports/bench_notes.md the database held tables and each version began as a copy of the
previous one: 3.8 s of a 14 s publish after ten days at M, and growing every day.)

Why it is safe for readers:
- A new version is built in its own directory, fsynced, marked `_SUCCESS`, and only then made
  current by one `os.replace` of the `current` symlink. The database and the Parquet files of a
  version therefore become visible at the same instant: there is no moment at which one is new and
  the other old. A published version's files are never written again.
- A reader resolves the path when it opens a file: a reader that opened the old database keeps
  reading the old version's files, one opening after the swap gets the new one. A reader that reads
  several Parquet files and must not straddle a publish resolves `current` once
  (`os.path.realpath`) and reads below that directory.
- The views read their files at query time, so a superseded version is kept while readers may
  still hold it: the previous version always, and any version superseded less than
  `INFLUENCE_PUBLISHED_GRACE_HOURS` (default 24) ago. Kept versions cost little disk: their day
  files are hard links shared with the newer versions.
- A publish killed at any point leaves the previous version in place; its leftovers (a version
  directory without `_SUCCESS`, a temporary link) are removed by the next publish.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from influence.errors import PublishError
from influence.settings import Paths

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

VERSIONS = "versions"
CURRENT = "current"
DATABASE_FILE = "influence.duckdb"
PARQUET_DIR = "parquet"
SUCCESS_MARKER = "_SUCCESS"
TEMPORARY_PREFIX = ".publishing-"
MARTS_SCHEMA = "marts"
AUDIT_TABLE = "run_audit"
DAY_COLUMNS = ("score_date", "activity_date")
WHOLE_TABLE_FILE = "data.parquet"
PREVIOUS = "previous_version"  # the previous version's database, attached read-only while publishing
GRACE_HOURS_VARIABLE = "INFLUENCE_PUBLISHED_GRACE_HOURS"
DEFAULT_GRACE_HOURS = 24.0

Columns = list[tuple[str, str]]


@dataclass(frozen=True)
class PublishResult:
    version: str
    mart_rows: dict[str, int]
    persons_scored: dict[dt.date, int]  # per published day; empty without fct_person_scores
    seconds: float


AuditProvider = Callable[[dict[str, int], "dict[dt.date, int]"], "pa.Table"]


@dataclass(frozen=True)
class _NewVersion:
    """What an update writes to: the new version's database (the previous one attached as
    `PREVIOUS` when there is one) and its Parquet directory; `previous_parquet` is None on the
    first publish."""
    connection: duckdb.DuckDBPyConnection
    parquet: Path
    previous_parquet: Path | None

    def previous_columns(self, table: str) -> Columns | None:
        if self.previous_parquet is None:
            return None
        return _column_types(self.connection, PREVIOUS, "main", table) or None

    def previous_tables(self) -> list[str]:
        return _table_names(self.connection, PREVIOUS, "main") if self.previous_parquet is not None else []

    def link_previous_files(self, table: str, skip_days: frozenset[dt.date] = frozenset()) -> None:
        """Hard-link the previous version's files of `table`, except the day files of `skip_days`."""
        assert self.previous_parquet is not None
        skipped = {day.isoformat() + ".parquet" for day in skip_days}
        for file in (self.previous_parquet / table).glob("*.parquet"):
            if file.name not in skipped:
                os.link(file, self.parquet / table / file.name)

    def write(self, table: str, query: str, file_name: str, parameters: list | None = None) -> int:
        """Write the rows of `query` to `<table>/<file_name>`; returns the rows written."""
        file = self.parquet / table / file_name
        return self.connection.execute(
            f"COPY ({query}) TO '{_sql_string(file)}' (FORMAT parquet, COMPRESSION zstd)", parameters or []
        ).fetchone()[0]

    def create_view(self, table: str, columns: Columns) -> int:
        """The view of `table` over its files in this version; checks that it reads back with
        `columns` (name and type, in order). Returns its rows."""
        directory = self.parquet / table
        if any(directory.glob("*.parquet")):
            body = f"SELECT * FROM read_parquet('{_sql_string(directory)}/*.parquet')"
        else:  # a daily mart with no rows yet: nothing to read, but the columns are known
            body = "SELECT " + ", ".join(f'NULL::{kind} AS "{name}"' for name, kind in columns) + " WHERE false"
        self.connection.execute(f'CREATE VIEW main."{table}" AS {body}')
        published = _column_types(self.connection, _main_catalog(self.connection), "main", table)
        if published != columns:
            raise PublishError(f"{directory}: its Parquet files read back as {published}, expected {columns}; not published")
        return self.connection.execute(f'SELECT count(*) FROM main."{table}"').fetchone()[0]


Update = Callable[[_NewVersion], "pa.Table"]


def publish_marts(paths: Paths, days: Sequence[dt.date], audit_for: AuditProvider) -> PublishResult:
    """Publish `days` of every table of schema `marts` (see the module docstring), plus the run
    audit. The caller holds the warehouse lock and has audited the days.

    `audit_for(mart_rows, persons_scored_by_day)` returns the `run_audit` table to publish; it is
    called after the marts are written so this run's own audit rows can carry their row counts."""
    replaced = frozenset(days)
    day_list = sorted(replaced)
    started = time.monotonic()
    if not paths.warehouse.exists():
        raise PublishError(f"{paths.warehouse}: working warehouse does not exist; run dbt build first")
    mart_rows: dict[str, int] = {}
    persons_scored: dict[dt.date, int] = {}

    def write_marts(version: _NewVersion) -> pa.Table:
        connection = version.connection
        connection.execute(f"ATTACH '{_sql_string(paths.warehouse)}' AS warehouse (READ_ONLY)")
        marts = _table_names(connection, "warehouse", MARTS_SCHEMA)
        if not marts:
            raise PublishError(f"{paths.warehouse}: schema '{MARTS_SCHEMA}' has no tables to publish")
        if AUDIT_TABLE in marts:
            raise PublishError(f"{paths.warehouse}: a mart may not be called '{AUDIT_TABLE}'")
        for table in marts:  # a table of the previous version that is no longer a mart is not carried over
            source = f'warehouse.{MARTS_SCHEMA}."{table}"'
            columns = _column_types(connection, "warehouse", MARTS_SCHEMA, table)
            day_column = next((c for c in DAY_COLUMNS if c in dict(columns)), None)
            (version.parquet / table).mkdir()
            if day_column is None:
                version.write(table, f"SELECT * FROM {source}", WHOLE_TABLE_FILE)
            else:
                if version.previous_columns(table) == columns:
                    version.link_previous_files(table, skip_days=replaced)
                    days_to_write = day_list
                else:  # first publish, or the columns changed: every day the warehouse has
                    days_to_write = [d for (d,) in connection.execute(
                        f"SELECT DISTINCT {day_column} FROM {source} ORDER BY 1").fetchall()]
                for day in days_to_write:
                    file_name = f"{day.isoformat()}.parquet"
                    rows = version.write(table, f"SELECT * FROM {source} WHERE {day_column} = ?", file_name, [day])
                    if rows == 0:  # a day without rows has no file, so the files list the days published
                        (version.parquet / table / file_name).unlink()
                    if table == "fct_person_scores" and day in replaced:
                        persons_scored[day] = rows
            mart_rows[table] = version.create_view(table, columns)
        connection.execute("DETACH warehouse")
        if "fct_person_scores" in mart_rows:
            for day in day_list:
                persons_scored.setdefault(day, 0)
        return audit_for(mart_rows, persons_scored)

    version = _publish(paths, write_marts, carry_over_unwritten=False)
    return PublishResult(version, mart_rows, persons_scored, time.monotonic() - started)


def publish_audit(paths: Paths, audit: pa.Table) -> str:
    """Refresh only `run_audit` (after a failed run): the marts stay exactly the last audited ones."""
    return _publish(paths, lambda version: audit, carry_over_unwritten=True)


def _publish(paths: Paths, update: Update, carry_over_unwritten: bool) -> str:
    """Build a complete new version with `update` (it writes what changed and returns the audit
    table), carry the previous version's other tables over if asked, then make it current."""
    import duckdb

    published_dir = paths.published
    published_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(published_dir)
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"
    previous_dir = current_version(published_dir)
    version_dir = published_dir / VERSIONS / version
    try:
        (version_dir / PARQUET_DIR).mkdir(parents=True)
        with duckdb.connect(str(version_dir / DATABASE_FILE)) as connection:
            if previous_dir is not None:
                connection.execute(f"ATTACH '{_sql_string(previous_dir / DATABASE_FILE)}' AS {PREVIOUS} (READ_ONLY)")
            new_version = _NewVersion(connection, version_dir / PARQUET_DIR,
                                      previous_dir / PARQUET_DIR if previous_dir is not None else None)
            audit = update(new_version)
            (new_version.parquet / AUDIT_TABLE).mkdir()
            connection.register("run_audit_rows", audit)
            new_version.write(AUDIT_TABLE, "SELECT * FROM run_audit_rows ORDER BY finished_at", WHOLE_TABLE_FILE)
            audit_columns = connection.execute("DESCRIBE SELECT * FROM run_audit_rows").fetchall()
            connection.unregister("run_audit_rows")
            new_version.create_view(AUDIT_TABLE, [(name, kind) for name, kind, *_ in audit_columns])
            if carry_over_unwritten:
                for table in new_version.previous_tables():
                    if not (new_version.parquet / table).exists():
                        (new_version.parquet / table).mkdir()
                        new_version.link_previous_files(table)
                        new_version.create_view(table, new_version.previous_columns(table) or [])
            if previous_dir is not None:
                connection.execute(f"DETACH {PREVIOUS}")
            connection.execute("CHECKPOINT")
        (version_dir / SUCCESS_MARKER).write_text(version + "\n")
        _fsync_tree(version_dir)

        temporary_link = published_dir / f"{TEMPORARY_PREFIX}{version}.link"
        os.symlink(Path(VERSIONS) / version, temporary_link)
        os.replace(temporary_link, published_dir / CURRENT)  # the swap: database and Parquet at once
        _ensure_stable_links(published_dir)
        _fsync_path(published_dir)
    except BaseException:
        if current_version(published_dir) != version_dir:
            shutil.rmtree(version_dir, ignore_errors=True)
        raise
    remove_leftovers(published_dir)
    return version


def current_version(published_dir: Path) -> Path | None:
    """The directory of the published version, or None before the first publish."""
    link = published_dir / CURRENT
    return (published_dir / os.readlink(link)) if link.is_symlink() else None


def _ensure_stable_links(published_dir: Path) -> None:
    """`influence.duckdb` and `parquet` point through `current`, so they never need replacing."""
    for name, target in ((DATABASE_FILE, Path(CURRENT) / DATABASE_FILE), (PARQUET_DIR, Path(CURRENT) / PARQUET_DIR)):
        link = published_dir / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        temporary_link = published_dir / f"{TEMPORARY_PREFIX}{name}.link"
        temporary_link.unlink(missing_ok=True)
        os.symlink(target, temporary_link)
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)  # a plain directory left by an older layout
        os.replace(temporary_link, link)



def _main_catalog(connection: duckdb.DuckDBPyConnection) -> str:
    return connection.execute("SELECT current_database()").fetchone()[0]


def _table_names(connection: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    return [name for (name,) in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? ORDER BY 1",
        [catalog, schema],
    ).fetchall()]


def _column_types(connection: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> Columns:
    return connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def remove_leftovers(published_dir: Path) -> None:
    """Delete what a killed publish left behind (unfinished versions, temporary links, a version
    completed but never made current), and the superseded versions no reader can need: those
    superseded more than the grace period ago, except the previous version, which is always kept."""
    for leftover in published_dir.glob(f"{TEMPORARY_PREFIX}*"):
        leftover.unlink(missing_ok=True)
    versions_dir = published_dir / VERSIONS
    if not versions_dir.is_dir():
        return
    current = current_version(published_dir)
    keep: set[Path] = set()
    if current is not None and (current / SUCCESS_MARKER).exists():
        completed = {d: (d / SUCCESS_MARKER).stat().st_mtime for d in versions_dir.iterdir()
                     if d.is_dir() and (d / SUCCESS_MARKER).exists()}
        # Versions become current in the order they complete (publishes hold the warehouse lock),
        # so a version was superseded when the next one to complete did.
        superseded = sorted((d for d in completed if completed[d] < completed[current]), key=completed.get)
        successors = [*superseded[1:], current]
        oldest_needed = time.time() - grace_seconds()
        keep = {current, *superseded[-1:],
                *(d for d, successor in zip(superseded, successors) if completed[successor] > oldest_needed)}
    for directory in versions_dir.iterdir():
        if directory not in keep:
            shutil.rmtree(directory, ignore_errors=True)


def grace_seconds() -> float:
    """How long a superseded version stays readable (`INFLUENCE_PUBLISHED_GRACE_HOURS`)."""
    value = os.environ.get(GRACE_HOURS_VARIABLE, "")
    try:
        hours = float(value) if value.strip() else DEFAULT_GRACE_HOURS
    except ValueError:
        raise PublishError(f"{GRACE_HOURS_VARIABLE}={value!r}: not a number of hours") from None
    if hours < 0:
        raise PublishError(f"{GRACE_HOURS_VARIABLE}={value!r}: must not be negative")
    return hours * 3600


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_tree(directory: Path) -> None:
    for path in sorted(directory.rglob("*"), reverse=True):
        _fsync_path(path)
    _fsync_path(directory)
