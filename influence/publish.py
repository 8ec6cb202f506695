"""Publish the audited marts for consumers: a DuckDB file and a Parquet mirror, swapped in
together as one version.

Layout under the published directory (`INFLUENCE_PUBLISHED_DIR`, default `data/published/`):

    versions/<v>/influence.duckdb      every table of the working warehouse's `marts` schema, in
                                       `main`, plus `run_audit`
    versions/<v>/parquet/              the same tables as Parquet:
        <daily mart>/<YYYY-MM-DD>.parquet   one file per day for marts with a day column
        <other table>/data.parquet          dimensions, run_audit
    versions/<v>/_SUCCESS              marks a complete version
    current -> versions/<v>            the one link a publish replaces
    influence.duckdb -> current/influence.duckdb     stable names for readers (never replaced)
    parquet -> current/parquet                       (read a whole mart with
                                                      read_parquet('parquet/<mart>/*.parquet'))

What a run publishes is what it audited: for a daily mart (one with a `score_date` or
`activity_date` column; dbt rebuilds exactly the run's days: one for a daily run, a range for a
backfill) the run replaces those days' rows only, and the other days stay as they were published
by their own runs. So rows of a day whose
audit failed are never published by a later day's run. Dimensions (no day column) and marts whose
columns changed (a new model version) are copied whole. The Parquet mirror follows the same rule:
the new version hard-links the unchanged day files of the previous version and writes the
changed ones. Publishing therefore writes only the run's days, but it copies the whole DuckDB
database once, and that copy grows with the published history (3.8 s of a 14 s publish after ten
days at M; reports/bench_notes.md, twentieth update, says what would remove it).

Why it is safe for readers:
- A new version is built in its own directory (its database starts as a copy of the current one,
  which is never modified in place), checkpointed and fsynced, marked `_SUCCESS`, and only then
  made current by one `os.replace` of the `current` symlink. The database and the Parquet mirror
  of a version therefore become visible at the same instant: there is no moment at which one is
  new and the other old.
- A reader resolves the path when it opens a file: a reader that opened the old database keeps
  its inode and reads the old version to the end; one opening after the swap gets the new one. A
  reader that combines the database and Parquet files, or several Parquet files, and must not
  straddle a publish resolves `current` once (`os.path.realpath`) and reads below that directory.
  The previous version is kept until the next publish after this one.
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


@dataclass(frozen=True)
class PublishResult:
    version: str
    mart_rows: dict[str, int]
    persons_scored: dict[dt.date, int]  # per published day; empty without fct_person_scores
    seconds: float


AuditProvider = Callable[[dict[str, int], "dict[dt.date, int]"], "pa.Table"]
# Changes made to the new version's tables: table -> the days replaced, or None if rewritten whole.
Changes = dict[str, "frozenset[dt.date] | None"]
Update = Callable[["duckdb.DuckDBPyConnection"], "tuple[pa.Table, Changes]"]


def publish_marts(paths: Paths, days: Sequence[dt.date], audit_for: AuditProvider) -> PublishResult:
    """Publish `days` of every table of schema `marts` (see the module docstring), plus the run
    audit. The caller holds the warehouse lock and has audited the days.

    `audit_for(mart_rows, persons_scored_by_day)` returns the `run_audit` table to publish; it is
    called after the marts are updated so this run's own audit rows can carry their row counts."""
    replaced = frozenset(days)
    day_list = sorted(replaced)
    started = time.monotonic()
    if not paths.warehouse.exists():
        raise PublishError(f"{paths.warehouse}: working warehouse does not exist; run dbt build first")
    mart_rows: dict[str, int] = {}
    persons_scored: dict[dt.date, int] = {}

    def update_day(connection: duckdb.DuckDBPyConnection) -> tuple[pa.Table, Changes]:
        connection.execute(f"ATTACH '{_sql_string(paths.warehouse)}' AS warehouse (READ_ONLY)")
        marts = _table_names(connection, "warehouse", MARTS_SCHEMA)
        if not marts:
            raise PublishError(f"{paths.warehouse}: schema '{MARTS_SCHEMA}' has no tables to publish")
        if AUDIT_TABLE in marts:
            raise PublishError(f"{paths.warehouse}: a mart may not be called '{AUDIT_TABLE}'")
        published = set(_table_names(connection, _main_catalog(connection), "main"))
        changes: Changes = {}
        for table in marts:
            source = f'warehouse.{MARTS_SCHEMA}."{table}"'
            columns = _column_types(connection, "warehouse", MARTS_SCHEMA, table)
            day_column = next((c for c in DAY_COLUMNS if c in dict(columns)), None)
            same_shape = table in published and _column_types(
                connection, _main_catalog(connection), "main", table) == columns
            if day_column and same_shape:
                connection.execute(f'DELETE FROM main."{table}" WHERE {day_column} IN ?', [day_list])
                connection.execute(f'INSERT INTO main."{table}" SELECT * FROM {source} WHERE {day_column} IN ?', [day_list])
                changes[table] = replaced
            else:
                connection.execute(f'DROP TABLE IF EXISTS main."{table}"')
                connection.execute(f'CREATE TABLE main."{table}" AS SELECT * FROM {source}')
                changes[table] = None
            mart_rows[table] = connection.execute(f'SELECT count(*) FROM main."{table}"').fetchone()[0]
        for table in published - set(marts) - {AUDIT_TABLE}:
            connection.execute(f'DROP TABLE main."{table}"')  # a mart dbt no longer builds
        connection.execute("DETACH warehouse")
        if "fct_person_scores" in mart_rows:
            persons_scored.update({day: 0 for day in day_list})
            persons_scored.update(connection.execute(
                "SELECT score_date, count(*) FROM main.fct_person_scores WHERE score_date IN ? GROUP BY 1",
                [day_list]).fetchall())
        return audit_for(mart_rows, persons_scored), changes

    version = _publish(paths, update_day)
    return PublishResult(version, mart_rows, persons_scored, time.monotonic() - started)


def publish_audit(paths: Paths, audit: pa.Table) -> str:
    """Refresh only `run_audit` (after a failed run): the marts stay exactly the last audited ones."""
    return _publish(paths, lambda connection: (audit, {}))


def _publish(paths: Paths, update: Update) -> str:
    """Build a complete new version from the current one with `update`, then make it current."""
    import duckdb

    published_dir = paths.published
    published_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(published_dir)
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"
    previous_dir = current_version(published_dir)
    version_dir = published_dir / VERSIONS / version
    database = version_dir / DATABASE_FILE
    try:
        version_dir.mkdir(parents=True)
        # Before `current` existed, the database was a plain file at the stable name.
        previous_database = previous_dir / DATABASE_FILE if previous_dir is not None else paths.published_db
        if previous_database.exists():
            # Safe while readers have it open: a published version is never written in place.
            shutil.copyfile(previous_database, database)
        with duckdb.connect(str(database)) as connection:
            audit, changes = update(connection)
            connection.execute(f"DROP TABLE IF EXISTS main.{AUDIT_TABLE}")
            connection.register("run_audit_rows", audit)
            connection.execute(f"CREATE TABLE main.{AUDIT_TABLE} AS SELECT * FROM run_audit_rows ORDER BY finished_at")
            connection.unregister("run_audit_rows")
            changes[AUDIT_TABLE] = None
            previous_parquet = previous_dir / PARQUET_DIR if previous_dir is not None else None
            _write_parquet_mirror(connection, version_dir / PARQUET_DIR, previous_parquet, changes)
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


def _write_parquet_mirror(
    connection: duckdb.DuckDBPyConnection, version_dir: Path, previous: Path | None, changes: Changes
) -> None:
    """Write the new mirror version: hard links to the previous version's unchanged files, new
    files for what changed; then check that every table has exactly the rows of the database."""
    import pyarrow.parquet as pq

    catalog = _main_catalog(connection)
    for table in _table_names(connection, catalog, "main"):
        target = version_dir / table
        target.mkdir(parents=True)
        columns = dict(_column_types(connection, catalog, "main", table))
        day_column = next((c for c in DAY_COLUMNS if c in columns), None)
        old = previous / table if previous is not None else None
        changed = changes.get(table, "unchanged")
        reusable = old is not None and old.is_dir() and changed is not None
        if day_column is None:
            if reusable and changed == "unchanged" and (old / WHOLE_TABLE_FILE).exists():
                os.link(old / WHOLE_TABLE_FILE, target / WHOLE_TABLE_FILE)
            else:
                _copy_to_parquet(connection, f'SELECT * FROM main."{table}"', target / WHOLE_TABLE_FILE)
            continue
        if reusable:
            replaced_names = set() if changed == "unchanged" else {day.isoformat() for day in changed}
            for file in old.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].parquet"):
                if file.stem not in replaced_names:
                    os.link(file, target / file.name)
            days = [] if changed == "unchanged" else sorted(changed)
        else:
            days = [d for (d,) in connection.execute(f'SELECT DISTINCT {day_column} FROM main."{table}" ORDER BY 1').fetchall()]
        for day in days:
            file = target / f"{day.isoformat()}.parquet"
            file.unlink(missing_ok=True)
            if connection.execute(f'SELECT count(*) FROM main."{table}" WHERE {day_column} = ?', [day]).fetchone()[0]:
                _copy_to_parquet(connection, f'SELECT * FROM main."{table}" WHERE {day_column} = DATE \'{day.isoformat()}\'', file)
        expected = connection.execute(f'SELECT count(*) FROM main."{table}"').fetchone()[0]
        mirrored = sum(pq.ParquetFile(file).metadata.num_rows for file in target.glob("*.parquet"))
        if mirrored != expected:
            raise PublishError(f"{target}: Parquet mirror has {mirrored} rows, the database {expected}; not published")


def _copy_to_parquet(connection: duckdb.DuckDBPyConnection, query: str, file: Path) -> None:
    connection.execute(f"COPY ({query}) TO '{_sql_string(file)}' (FORMAT parquet, COMPRESSION zstd)")


def _main_catalog(connection: duckdb.DuckDBPyConnection) -> str:
    return connection.execute("SELECT current_database()").fetchone()[0]


def _table_names(connection: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    return [name for (name,) in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? ORDER BY 1",
        [catalog, schema],
    ).fetchall()]


def _column_types(connection: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def remove_leftovers(published_dir: Path) -> None:
    """Delete what a killed publish left behind (unfinished versions, temporary links), and
    versions older than the previous one (the previous one stays for readers that resolved
    `current` just before the swap)."""
    for leftover in published_dir.glob(f"{TEMPORARY_PREFIX}*"):
        leftover.unlink(missing_ok=True)
    versions_dir = published_dir / VERSIONS
    if not versions_dir.is_dir():
        return
    current = current_version(published_dir)
    complete = sorted(
        (d for d in versions_dir.iterdir() if d.is_dir() and (d / SUCCESS_MARKER).exists() and d != current),
        key=lambda d: d.stat().st_mtime_ns,
    )
    keep = {current, *complete[-1:]}
    for directory in versions_dir.iterdir():
        if directory not in keep:
            shutil.rmtree(directory, ignore_errors=True)


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
