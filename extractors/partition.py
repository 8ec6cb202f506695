"""Writing one day of one entity: the Parquet partition, its manifest and its quarantine.

Layout (docs/architecture.md):
    <raw_dir>/<network>/<entity>/dt=YYYY-MM-DD/{part-0.parquet,_manifest.json}
    <quarantine_dir>/<network>/<entity>/dt=YYYY-MM-DD/part-0.parquet

A partition directory is built complete in a hidden temp directory beside it and then swapped in
(an atomic exchange where the kernel supports it), so re-extracting a day replaces exactly that
day and a reader never sees half a partition. A quarantine partition exists only when rows were
rejected that day; re-extracting a day without rejections removes a stale one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extractors.schema import QUARANTINE, SCHEMAS
from influence.settings import MANIFEST_FILE, PARQUET_FILE, partition_dir


@dataclass
class PartitionManifest:
    """What one partition holds and where every source row of that day went.

    Row accounting is exact: rows_read == rows_written + rows_rejected + rows_skipped.
    rejected = bad input, quarantined with a reason; skipped = well-formed rows that are
    deliberately not social activity (e.g. a "close" vote), counted by reason, not quarantined.
    duplicate_event_ids and self_interactions are counted among the written rows: dbt staging
    removes them, the counts let it (and a reader) reconcile.
    """

    network: str
    entity: str
    day: datetime.date
    source_files: list[str]
    source_sha256: dict[str, str]
    rows_read: int
    rows_written: int
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    rows_skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    duplicate_event_ids: int = 0
    self_interactions: int = 0
    written_at: str = ""

    def check_accounting(self) -> None:
        """Raise if the counts do not add up: that is a bug in the extractor, never bad input."""
        problems = []
        if self.rows_read != self.rows_written + self.rows_rejected + self.rows_skipped:
            problems.append(
                f"rows_read {self.rows_read} != written {self.rows_written} + rejected "
                f"{self.rows_rejected} + skipped {self.rows_skipped}"
            )
        if sum(self.rejected_by_reason.values()) != self.rows_rejected:
            problems.append("rejected_by_reason does not sum to rows_rejected")
        if sum(self.skipped_by_reason.values()) != self.rows_skipped:
            problems.append("skipped_by_reason does not sum to rows_skipped")
        if problems:
            raise ValueError(f"{self.network}/{self.entity}/{self.day}: " + "; ".join(problems))

    def to_json(self) -> str:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PartitionManifest:
        data = json.loads(text)
        data["day"] = datetime.date.fromisoformat(data["day"])
        return cls(**data)

    @classmethod
    def read(cls, directory: Path) -> PartitionManifest:
        return cls.from_json((directory / MANIFEST_FILE).read_text())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_partition(
    raw_dir: Path,
    network: str,
    entity: str,
    day: datetime.date,
    table: pa.Table,
    manifest: PartitionManifest,
) -> Path:
    """Write ``table`` (which must match the entity's schema exactly) and its manifest as the
    partition for (network, entity, day), replacing any previous one atomically."""
    schema = SCHEMAS[entity]
    if not table.schema.equals(schema):
        raise ValueError(f"{network}/{entity}: table schema differs from extractors.schema:\n{table.schema}")
    if table.num_rows != manifest.rows_written:
        raise ValueError(
            f"{network}/{entity}/{day}: table has {table.num_rows} rows, manifest says {manifest.rows_written}"
        )
    manifest.check_accounting()
    manifest.written_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    final = partition_dir(raw_dir, network, entity, day)

    def fill(directory: Path) -> None:
        pq.write_table(table, directory / PARQUET_FILE, compression="zstd")
        (directory / MANIFEST_FILE).write_text(manifest.to_json())

    _replace_directory(final, fill)
    return final


def write_quarantine(
    quarantine_dir: Path, network: str, entity: str, day: datetime.date, table: pa.Table
) -> Path | None:
    """Write the day's rejected rows; with none, remove a stale quarantine partition instead."""
    final = partition_dir(quarantine_dir, network, entity, day)
    if table.num_rows == 0:
        if final.exists():
            _remove_directory(final)
        return None
    if not table.schema.equals(QUARANTINE):
        raise ValueError(f"{network}/{entity}: quarantine table schema differs from extractors.schema.QUARANTINE")
    _replace_directory(final, lambda directory: pq.write_table(table, directory / PARQUET_FILE, compression="zstd"))
    return final


def write_atomic_directory(final: Path, fill: Callable[[Path], None]) -> bool:
    """Build ``final`` once: fill a temp dir and rename it into place. Returns False (and discards
    the work) when another process created ``final`` first. Used for the extractor caches."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex}"
    temp.mkdir()
    try:
        fill(temp)
        try:
            os.rename(temp, final)
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                shutil.rmtree(temp)
                return False
            raise
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return True


def _replace_directory(final: Path, fill: Callable[[Path], None]) -> None:
    """Fill a hidden temp dir beside ``final`` (same filesystem), then swap it in. The hidden
    name (leading dot) never matches a reader's ``dt=*`` glob."""
    final.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    temp = final.parent / f".{final.name}.tmp-{token}"
    temp.mkdir()
    try:
        fill(temp)
        if final.exists():
            if _exchange(temp, final):
                shutil.rmtree(temp)  # temp now holds the previous partition
                return
            # No atomic exchange here: move the old one aside first. A reader may find the day
            # missing for an instant, never half-written.
            old = final.parent / f".{final.name}.old-{token}"
            os.rename(final, old)
            os.rename(temp, final)
            shutil.rmtree(old)
        else:
            os.rename(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _remove_directory(final: Path) -> None:
    doomed = final.parent / f".{final.name}.old-{uuid.uuid4().hex}"
    os.rename(final, doomed)
    shutil.rmtree(doomed)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE). False if unsupported."""
    if _renameat2 is None:
        return False
    result = _renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))
