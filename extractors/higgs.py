"""Higgs Twitter activity (SNAP) → network ``twitter``.

Input: ``<samples_dir>/higgs/higgs-activity_time.txt.gz``, one interaction a line,
``userA userB unix_ts type`` (space separated), A acted on B:

    RT → reshare   MT → mention   RE → reply     actor = userA, target = userB

``event_id`` is ``<type>:<A>:<B>:<ts>`` (lower-case type), so an identical duplicated line gets the
same id: it is written (dbt staging deduplicates) and counted in the manifest's
``duplicate_event_ids``. Self-interactions (A == B) are written as they are and counted in
``self_interactions``; dbt staging drops them.

A line belongs to the UTC day of its timestamp. Rejected lines (quarantine reasons):
``undecodable_bytes``, ``wrong_column_count``, ``non_numeric_id``, ``non_numeric_timestamp``,
``timestamp_out_of_range`` (before Twitter existed or after the moment of parsing: a far-future
line would otherwise sit unseen in a day nobody extracts), ``unknown_event_type``.

Whole-file problems raise ``SourceError``: missing file, truncated/corrupt gzip, and an empty file
(0 bytes or no lines) — the real export is never empty, so an empty file means a failed download,
not a quiet week.

The file is parsed once per content (sha256) into the day cache (see ``extractors.daycache``);
each ``extract_day`` call then hashes the compressed file and reads that day from the cache.
"""

from __future__ import annotations

import datetime
import gzip
import time
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extractors.daycache import (
    CACHE_FORMAT_VERSION,
    CACHED_EVENTS,
    REJECTS,
    BatchWriter,
    EntityDay,
    RejectLog,
    default_cache_dir,
    events_day,
    write_network_day,
)
from extractors.errors import SourceError
from extractors.partition import PartitionManifest, sha256_of, write_atomic_directory
from extractors.schema import ACCOUNTS, IDENTITY_LINKS, QUARANTINE

NETWORK = "twitter"
SOURCE_FILE = "higgs-activity_time.txt.gz"
EVENT_TYPES = {"RT": "reshare", "MT": "mention", "RE": "reply"}
TWITTER_LAUNCH_TS = int(datetime.datetime(2006, 3, 21, tzinfo=datetime.UTC).timestamp())
_BATCH_ROWS = 100_000


def source_path(samples_dir: Path) -> Path:
    return samples_dir / "higgs" / SOURCE_FILE


def extract_day(
    day: datetime.date,
    *,
    samples_dir: Path,
    raw_dir: Path,
    quarantine_dir: Path,
    cache_dir: Path | None = None,
) -> list[PartitionManifest]:
    """Write events, accounts and identity_links of ``twitter`` for ``day``."""
    path = source_path(samples_dir)
    if not path.is_file():
        raise SourceError(path, "missing file (expected the SNAP Higgs activity export)")
    sha = sha256_of(path)
    key_dir = (cache_dir or default_cache_dir(raw_dir)) / "higgs" / f"{sha}-v{CACHE_FORMAT_VERSION}"
    if not (key_dir / "events.parquet").exists():
        write_atomic_directory(key_dir, lambda temp: _parse_into_cache(path, temp))

    files, shas = [SOURCE_FILE], {SOURCE_FILE: sha}
    events = events_day(cache_key_dir=key_dir, network=NETWORK, day=day, source_files=files, source_sha256=shas)
    accounts_table = _accounts_seen(events.table, day)
    accounts = EntityDay(
        accounts_table,
        QUARANTINE.empty_table(),
        PartitionManifest(
            network=NETWORK,
            entity="accounts",
            day=day,
            source_files=files,
            source_sha256=shas,
            rows_read=accounts_table.num_rows,
            rows_written=accounts_table.num_rows,
        ),
    )
    # The export has no cross-network identity: nothing to link, but the partition exists.
    identity_links = EntityDay(
        IDENTITY_LINKS.empty_table(),
        QUARANTINE.empty_table(),
        PartitionManifest(NETWORK, "identity_links", day, files, shas, rows_read=0, rows_written=0),
    )
    return write_network_day(
        raw_dir, quarantine_dir, day, {"events": events, "accounts": accounts, "identity_links": identity_links}
    )


def _accounts_seen(events: pa.Table, day: datetime.date) -> pa.Table:
    """Every account acting or acted on that day; the export has no profile attributes."""
    seen = pc.unique(
        pa.chunked_array(events["actor_account_id"].chunks + events["target_account_id"].chunks, pa.string())
    )
    seen = seen.filter(pc.is_valid(seen))
    # Numeric order reads naturally and is deterministic.
    ordered = sorted(seen.to_pylist(), key=int)
    count = len(ordered)
    return pa.table(
        {
            "network": pa.array([NETWORK] * count, pa.string()),
            "account_id": pa.array(ordered, pa.string()),
            "display_name": pa.nulls(count, pa.string()),
            "created_at": pa.nulls(count, ACCOUNTS.field("created_at").type),
            "reputation": pa.nulls(count, pa.int64()),
            "followers_count": pa.nulls(count, pa.int64()),
            "snapshot_day": pa.array([day] * count, pa.date32()),
        },
        schema=ACCOUNTS,
    )


def _parse_into_cache(path: Path, cache_dir: Path) -> None:
    """Stream the gzip once: valid lines → events.parquet, bad lines → rejects.parquet. Both are
    written in bounded batches in file order; the export is in time order, so each row group
    spans about one day and a day's read skips the others (correct in any order, just slower)."""
    newest_plausible_ts = int(time.time())
    events_writer = pq.ParquetWriter(cache_dir / "events.parquet", CACHED_EVENTS, compression="zstd")
    rejects_writer = BatchWriter(cache_dir / "rejects.parquet", REJECTS)
    rejects = RejectLog(rejects_writer, path)
    actors: list[str] = []
    targets: list[str] = []
    stamps: list[int] = []
    kinds: list[str] = []
    lines: list[int] = []
    valid = 0
    line_no = 0

    def flush() -> None:
        if lines:
            events_writer.write_table(_events_batch(actors, targets, stamps, kinds, lines), row_group_size=_BATCH_ROWS)
            for column in (actors, targets, stamps, kinds, lines):
                column.clear()

    try:
        with gzip.open(path, "rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    shown = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
                    rejects.reject(
                        "events",
                        line_no,
                        shown,
                        "undecodable_bytes",
                        f"not UTF-8: {error.reason} at byte {error.start}",
                    )
                    continue
                fields = text.split()
                problem = _check_fields(fields, newest_plausible_ts)
                if problem:
                    rejects.reject("events", line_no, text.rstrip("\r\n"), *problem)
                    continue
                stamp = int(fields[2])
                rejects.valid_row(datetime.datetime.fromtimestamp(stamp, datetime.UTC).date())
                actors.append(str(int(fields[0])))
                targets.append(str(int(fields[1])))
                stamps.append(stamp)
                kinds.append(fields[3])
                lines.append(line_no)
                valid += 1
                if len(lines) >= _BATCH_ROWS:
                    flush()
        if line_no == 0:
            raise SourceError(path, "empty file: no lines (the real export is never empty)")
        flush()
        rejects.finish(valid)
    # not OSError: that would also catch a failed write of the Parquet output (a full disk) and blame
    # the source file for it
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise SourceError(path, f"unreadable gzip after line {line_no} (truncated or corrupt): {error}") from error
    finally:
        events_writer.close()
        rejects_writer.close()


def _check_fields(fields: list[str], newest_plausible_ts: int) -> tuple[str, str] | None:
    """(reason, detail) when the split line is not a usable interaction, else None."""
    if len(fields) != 4:
        return (
            "wrong_column_count",
            f"expected 4 space-separated columns (userA userB timestamp type), got {len(fields)}",
        )
    for name, value in (("userA", fields[0]), ("userB", fields[1])):
        if not (value.isascii() and value.isdigit()):
            return "non_numeric_id", f"{name} {value!r} is not a non-negative integer"
    if not (fields[2].isascii() and fields[2].isdigit()):
        return "non_numeric_timestamp", f"timestamp {fields[2]!r} is not a unix time in seconds"
    stamp = int(fields[2])
    if not TWITTER_LAUNCH_TS <= stamp <= newest_plausible_ts:
        return "timestamp_out_of_range", f"timestamp {stamp} is before Twitter existed (2006-03-21) or in the future"
    if fields[3] not in EVENT_TYPES:
        return "unknown_event_type", f"type {fields[3]!r} is not one of RT, MT, RE"
    return None


def _events_batch(
    actors: list[str], targets: list[str], stamps: list[int], kinds: list[str], lines: list[int]
) -> pa.Table:
    count = len(lines)
    seconds = pa.array(stamps, pa.int64())
    event_ids = [
        f"{kind.lower()}:{actor}:{target}:{stamp}"
        for kind, actor, target, stamp in zip(kinds, actors, targets, stamps, strict=True)
    ]
    return pa.table(
        {
            "network": pa.array([NETWORK] * count, pa.string()),
            "event_id": pa.array(event_ids, pa.string()),
            "event_type": pa.array([EVENT_TYPES[kind] for kind in kinds], pa.string()),
            "actor_account_id": pa.array(actors, pa.string()),
            "target_account_id": pa.array(targets, pa.string()),
            "target_post_id": pa.nulls(count, pa.string()),
            "post_id": pa.nulls(count, pa.string()),
            "occurred_at": pc.multiply(seconds, 1_000_000).cast(pa.timestamp("us", tz="UTC")),
            "source_file": pa.array([SOURCE_FILE] * count, pa.string()),
            "source_line": pa.array(lines, pa.int64()),
            "day": pc.divide(seconds, 86_400).cast(pa.int32()).cast(pa.date32()),
            "skip_reason": pa.nulls(count, pa.string()),
        },
        schema=CACHED_EVENTS,
    )
