"""Publish the audited marts for consumers: a DuckDB file and a Parquet mirror, each replaced
atomically.

Layout under the published directory (`INFLUENCE_PUBLISHED_DIR`, default `data/published/`):

    influence.duckdb                 every table of the working warehouse's `marts` schema, in `main`,
                                     plus `run_audit`
    parquet -> parquet_versions/<v>  symlink to the current Parquet mirror, one directory per table:
                                     parquet/<table>/data.parquet
    parquet_versions/<v>/_SUCCESS    marks a complete mirror version

Why it is safe for readers:
- The new DuckDB file is written under a temporary name in the same directory, checkpointed,
  fsynced, and moved over `influence.duckdb` with `os.replace` (one rename). A reader that already
  opened the old file keeps its inode and reads the old version to the end; a reader opening after
  the rename gets the new one. Nobody sees a half-written file.
- The Parquet mirror is a new directory per version; the `parquet` symlink is replaced with
  `os.replace` of a freshly made symlink (again one rename). Readers that resolved the old link keep
  reading the old version, which is kept until the next publish after this one.
- A publish killed at any point leaves the previous version in place; its leftovers (temporary
  file, unfinished version directory without `_SUCCESS`) are removed by the next publish.
The DuckDB file and the Parquet mirror are two renames, so a reader combining both could in theory
straddle them for an instant; each one on its own is always a complete, consistent version.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from influence.errors import PublishError
from influence.settings import Paths

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

PARQUET_VERSIONS = "parquet_versions"
SUCCESS_MARKER = "_SUCCESS"
TEMPORARY_PREFIX = ".publishing-"
MARTS_SCHEMA = "marts"
AUDIT_TABLE = "run_audit"


@dataclass(frozen=True)
class PublishResult:
    version: str
    mart_rows: dict[str, int]
    persons_scored: int | None
    seconds: float


AuditProvider = Callable[[dict[str, int], "int | None"], "pa.Table"]


def publish_marts(paths: Paths, day: dt.date, audit_for: AuditProvider) -> PublishResult:
    """Copy every table (and view) of schema `marts` of the working warehouse, plus the run audit,
    to a new published version and swap it in. The caller holds the warehouse lock.

    `audit_for(mart_rows, persons_scored)` returns the `run_audit` table to publish; it is called
    after the marts are copied so this run's own audit row can carry their row counts."""
    import duckdb

    started = time.monotonic()
    if not paths.warehouse.exists():
        raise PublishError(f"{paths.warehouse}: working warehouse does not exist; run dbt build first")
    mart_rows: dict[str, int] = {}
    persons_scored: list[int] = []

    def copy_marts(connection: duckdb.DuckDBPyConnection) -> pa.Table:
        connection.execute(f"ATTACH '{_sql_string(paths.warehouse)}' AS warehouse (READ_ONLY)")
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = 'warehouse' AND table_schema = ? ORDER BY table_name",
                [MARTS_SCHEMA],
            ).fetchall()
        ]
        if not tables:
            raise PublishError(f"{paths.warehouse}: schema '{MARTS_SCHEMA}' has no tables to publish")
        for table in tables:
            if table == AUDIT_TABLE:
                raise PublishError(f"{paths.warehouse}: a mart may not be called '{AUDIT_TABLE}'")
            connection.execute(
                f'CREATE TABLE main."{table}" AS SELECT * FROM warehouse.{MARTS_SCHEMA}."{table}"'
            )
            mart_rows[table] = connection.execute(f'SELECT count(*) FROM main."{table}"').fetchone()[0]
        connection.execute("DETACH warehouse")
        if "fct_person_scores" in mart_rows:
            persons_scored.append(
                connection.execute(
                    "SELECT count(*) FROM main.fct_person_scores WHERE score_date = ?", [day]
                ).fetchone()[0]
            )
        return audit_for(mart_rows, persons_scored[0] if persons_scored else None)

    version = _publish(paths, copy_marts)
    return PublishResult(
        version, mart_rows, persons_scored[0] if persons_scored else None, time.monotonic() - started
    )


def publish_audit(paths: Paths, audit: pa.Table) -> str:
    """Refresh only `run_audit` (after a failed run): the marts are copied unchanged from the
    current published version, so consumers keep reading exactly the last audited marts."""

    def copy_current_marts(connection: duckdb.DuckDBPyConnection) -> pa.Table:
        if not paths.published_db.exists():
            return audit
        connection.execute(f"ATTACH '{_sql_string(paths.published_db)}' AS current (READ_ONLY)")
        for (table,) in connection.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'current' AND table_schema = 'main' ORDER BY table_name"
        ).fetchall():
            if table != AUDIT_TABLE:
                connection.execute(f'CREATE TABLE main."{table}" AS SELECT * FROM current.main."{table}"')
        connection.execute("DETACH current")
        return audit

    return _publish(paths, copy_current_marts)


def _publish(paths: Paths, fill: Callable[[duckdb.DuckDBPyConnection], pa.Table]) -> str:
    """Build a complete new version with `fill` (which copies the marts and returns the run audit
    table), then swap it in."""
    import duckdb

    published_dir = paths.published
    published_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(published_dir)
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"
    temporary_db = published_dir / f"{TEMPORARY_PREFIX}{version}.duckdb"
    versions_dir = published_dir / PARQUET_VERSIONS
    version_dir = versions_dir / version
    try:
        with duckdb.connect(str(temporary_db)) as connection:
            audit = fill(connection)
            connection.register("run_audit_rows", audit)
            connection.execute(f"CREATE TABLE main.{AUDIT_TABLE} AS SELECT * FROM run_audit_rows ORDER BY finished_at")
            connection.unregister("run_audit_rows")
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'main' ORDER BY table_name"
                ).fetchall()
            ]
            version_dir.mkdir(parents=True)
            for table in tables:
                (version_dir / table).mkdir()
                target = version_dir / table / "data.parquet"
                connection.execute(
                    f"COPY main.\"{table}\" TO '{_sql_string(target)}' (FORMAT parquet, COMPRESSION zstd)"
                )
            connection.execute("CHECKPOINT")
        _fsync_path(temporary_db)
        (version_dir / SUCCESS_MARKER).write_text(version + "\n")
        _fsync_tree(version_dir)

        # Parquet first, then DuckDB: both are single renames.
        link = published_dir / "parquet"
        if link.exists() and not link.is_symlink():
            # A real directory from an older layout: move it aside once so the symlink can take its place.
            os.replace(link, versions_dir / f"legacy-{version}")
        temporary_link = published_dir / f"{TEMPORARY_PREFIX}{version}.parquet-link"
        os.symlink(Path(PARQUET_VERSIONS) / version, temporary_link)
        os.replace(temporary_link, link)
        os.replace(temporary_db, paths.published_db)
        _fsync_path(published_dir)
    except BaseException:
        temporary_db.unlink(missing_ok=True)
        Path(str(temporary_db) + ".wal").unlink(missing_ok=True)
        shutil.rmtree(version_dir, ignore_errors=True)
        raise
    remove_leftovers(published_dir)
    return version


def remove_leftovers(published_dir: Path) -> None:
    """Delete what a killed publish left behind, and Parquet versions older than the previous one
    (the previous one stays for readers that resolved the symlink just before the swap)."""
    for leftover in published_dir.glob(f"{TEMPORARY_PREFIX}*"):
        if leftover.is_symlink() or leftover.is_file():
            leftover.unlink(missing_ok=True)
    versions_dir = published_dir / PARQUET_VERSIONS
    if not versions_dir.is_dir():
        return
    link = published_dir / "parquet"
    current = (link.resolve().name if link.is_symlink() else None)
    complete = sorted(
        (d for d in versions_dir.iterdir() if d.is_dir() and (d / SUCCESS_MARKER).exists()),
        key=lambda d: d.stat().st_mtime_ns,
    )
    previous = [d.name for d in complete if d.name != current][-1:]
    keep = {current, *previous}
    for directory in versions_dir.iterdir():
        if directory.name not in keep:
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
