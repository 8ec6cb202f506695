"""The per-source cache that makes day-by-day extraction cheap, and the per-day assembly shared
by the source modules.

Every source file spans many days (Higgs: one file for a week; a Stack Exchange dump: a site's
whole history), while the pipeline extracts one day at a time. Parsing the whole input for each
day would make a backfill quadratic, so each source parses its input once into a normalized cache
keyed by the sha256 of the input files (and ``CACHE_FORMAT_VERSION``, bumped whenever the
normalization changes):

    <cache_dir>/<source>/<key>/events.parquet    events schema + day + skip_reason, sorted by day
    <cache_dir>/<source>/<key>/rejects.parquet   quarantined rows with the entity and day they belong to

A day's extraction then reads only that day's row groups. The cache is written atomically and is
disposable: deleting it only costs one re-parse.

Rejected rows are attributed to a day: the row's own date when it has a usable one, otherwise the
day of the nearest earlier valid row in the same file (the sources are in time order), or of the
first valid row when nothing valid precedes it. Every rejected row therefore lands in exactly one
day's quarantine, and nothing is silently dropped.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extractors.errors import SourceError
from extractors.partition import PartitionManifest, write_partition, write_quarantine
from extractors.schema import EVENTS, QUARANTINE

CACHE_FORMAT_VERSION = "2"

# Rejected rows held back while no valid row has been seen yet to give them a day. A file whose
# first rows are all unusable is not the source we expect: fail rather than buffer without bound.
MAX_LEADING_REJECTS = 10_000

# Skipped rows (well-formed, deliberately not social activity) stay in the cache with their reason
# so every day's manifest can count them; they may lack an event_type or actor, hence nullable.
CACHED_EVENTS = pa.schema(
    [field.with_nullable(True) for field in EVENTS]
    + [pa.field("day", pa.date32(), nullable=False), pa.field("skip_reason", pa.string())]
)

REJECTS = pa.schema(
    [
        pa.field("entity", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
        pa.field("raw_record", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
    ]
)


def default_cache_dir(raw_dir: Path) -> Path:
    """``data/runs/cache/extractors`` for the default layout (``raw_dir`` = ``data/raw``). Outside
    ``raw_dir`` on purpose: nothing in it may match a reader's raw glob."""
    return raw_dir.parent / "runs" / "cache" / "extractors"


class BatchWriter:
    """Append rows to a Parquet file in bounded batches (memory stays flat whatever the input)."""

    def __init__(self, path: Path, schema: pa.Schema, batch_rows: int = 65_536) -> None:
        self.schema = schema
        self.batch_rows = batch_rows
        self.columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.rows = 0

    def append(self, row: dict[str, Any]) -> None:
        for name, values in self.columns.items():
            values.append(row[name])
        if len(self.columns[self.schema.names[0]]) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        count = len(self.columns[self.schema.names[0]])
        if count:
            self.writer.write_table(pa.table(self.columns, schema=self.schema))
            self.rows += count
            self.columns = {name: [] for name in self.schema.names}

    def close(self) -> None:
        self.flush()
        self.writer.close()


class RejectLog:
    """Collects the rejected rows of one source file, giving each a day (see module docstring)."""

    def __init__(self, writer: BatchWriter, source_path: Path) -> None:
        self.writer = writer
        self.source_path = source_path
        self.last_valid_day: datetime.date | None = None
        self.pending: list[dict[str, Any]] = []
        self.count = 0

    def valid_row(self, day: datetime.date) -> None:
        self.last_valid_day = day
        if self.pending:
            for row in self.pending:
                row["day"] = day
                self.writer.append(row)
            self.pending = []

    def reject(
        self,
        entity: str,
        line: int,
        raw_record: str,
        reason: str,
        detail: str,
        day: datetime.date | None = None,
    ) -> None:
        self.count += 1
        row = {
            "entity": entity,
            "day": day or self.last_valid_day,
            "source_file": self.source_path.name,
            "source_line": line,
            "raw_record": raw_record,
            "reason": reason,
            "detail": detail,
        }
        if row["day"] is None:
            if len(self.pending) >= MAX_LEADING_REJECTS:
                raise SourceError(
                    self.source_path,
                    f"the first {MAX_LEADING_REJECTS} rows are all unusable (first: {self.pending[0]['detail']})",
                )
            self.pending.append(row)
        else:
            self.writer.append(row)

    def finish(self, valid_rows: int) -> None:
        """Call at end of file. A file with rows but not one usable row is the wrong file or a
        changed format (e.g. a renamed column), not a few bad rows: fail loudly."""
        if valid_rows == 0 and self.count:
            first = self.pending[0] if self.pending else None
            hint = f" (first: line {first['source_line']}: {first['detail']})" if first else ""
            raise SourceError(self.source_path, f"none of its {self.count} rows is usable{hint}")


@dataclass
class EntityDay:
    """One entity of one network-day, ready to write."""

    table: pa.Table
    quarantine: pa.Table
    manifest: PartitionManifest


def quarantine_table(network: str, rejects: pa.Table) -> pa.Table:
    """Rows of the REJECTS cache → the quarantine schema of the contract."""
    return pa.table(
        {
            "network": pa.array([network] * rejects.num_rows, pa.string()),
            "source_file": rejects["source_file"],
            "source_line": rejects["source_line"],
            "raw_record": rejects["raw_record"],
            "reason": rejects["reason"],
            "detail": rejects["detail"],
        },
        schema=QUARANTINE,
    )


def read_day(
    path: Path, day: datetime.date, schema: pa.Schema, entity: str | None = None, *, up_to: bool = False
) -> pa.Table:
    """Rows of a cache file for one day (or, with ``up_to``, for every day up to and including it),
    reading only the row groups whose ``day`` statistics can match. (Plain ParquetFile rather
    than pq.read_table(filters=...), whose dataset layer is not needed for this.)"""
    parquet = pq.ParquetFile(path)
    day_column = parquet.schema_arrow.get_field_index("day")
    wanted = pa.scalar(day, pa.date32())
    pieces = []
    for index in range(parquet.num_row_groups):
        stats = parquet.metadata.row_group(index).column(day_column).statistics
        if stats is not None and stats.has_min_max:
            if stats.min > day or (not up_to and stats.max < day):
                continue
        group = parquet.read_row_group(index)
        mask = pc.less_equal(group["day"], wanted) if up_to else pc.equal(group["day"], wanted)
        if entity is not None:
            mask = pc.and_(mask, pc.equal(group["entity"], entity))
        pieces.append(group.filter(mask))
    table = pa.concat_tables(pieces) if pieces else schema.empty_table()
    return table.cast(schema)


def events_day(
    *,
    cache_key_dir: Path,
    network: str,
    day: datetime.date,
    source_files: list[str],
    source_sha256: dict[str, str],
) -> EntityDay:
    """A day's events from the cache: written rows, skipped rows by reason, rejected rows."""
    cached = read_day(cache_key_dir / "events.parquet", day, CACHED_EVENTS)
    rejects = read_day(cache_key_dir / "rejects.parquet", day, REJECTS, entity="events")
    is_skipped = pc.is_valid(cached["skip_reason"])
    written = cached.filter(pc.invert(is_skipped)).select(EVENTS.names).cast(EVENTS)
    skipped = count_reasons(cached.filter(is_skipped)["skip_reason"])
    rejected = count_reasons(rejects["reason"])
    actor, target = written["actor_account_id"], written["target_account_id"]
    self_interactions = pc.sum(pc.fill_null(pc.equal(actor, target), False).cast(pa.int64())).as_py() or 0
    manifest = PartitionManifest(
        network=network,
        entity="events",
        day=day,
        source_files=source_files,
        source_sha256=source_sha256,
        rows_read=cached.num_rows + rejects.num_rows,
        rows_written=written.num_rows,
        rows_rejected=rejects.num_rows,
        rejected_by_reason=rejected,
        rows_skipped=sum(skipped.values()),
        skipped_by_reason=skipped,
        duplicate_event_ids=written.num_rows - pc.count_distinct(written["event_id"]).as_py(),
        self_interactions=self_interactions,
    )
    return EntityDay(written, quarantine_table(network, rejects.select(REJECTS.names)), manifest)


def write_network_day(
    raw_dir: Path, quarantine_dir: Path, day: datetime.date, entities: dict[str, EntityDay]
) -> list[PartitionManifest]:
    """Write all three entities of one network-day: quarantine first, then the partition."""
    manifests = []
    for entity, result in entities.items():
        manifest = result.manifest
        if result.quarantine.num_rows != manifest.rows_rejected:
            raise ValueError(f"{manifest.network}/{entity}/{day}: quarantine rows != rows_rejected")
        write_quarantine(quarantine_dir, manifest.network, entity, day, result.quarantine)
        write_partition(raw_dir, manifest.network, entity, day, result.table, manifest)
        manifests.append(manifest)
    return manifests


def count_reasons(reasons: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    """Rows per reason code, in name order, as a manifest records them."""
    return dict(sorted(Counter(reasons.to_pylist()).items()))
