"""The partition writer: atomic replacement, manifests that must add up, quarantine lifecycle."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import partition
from extractors.partition import (
    PartitionManifest,
    write_partition,
    write_quarantine,
)
from extractors.schema import ACCOUNTS, EVENTS, QUARANTINE
from influence.settings import KNOWN_SOURCES, MANIFEST_FILE, PARQUET_FILE, partition_dir

DAY = datetime.date(2012, 7, 4)


def real_events(rows: list[tuple[str, str, int, str]]) -> pa.Table:
    """Events rows as the Higgs extractor writes them, from real (A, B, ts, type) lines."""
    types = {"RT": "reshare", "MT": "mention", "RE": "reply"}
    return pa.table(
        {
            "network": ["twitter"] * len(rows),
            "event_id": [f"{kind.lower()}:{a}:{b}:{ts}" for a, b, ts, kind in rows],
            "event_type": [types[kind] for *_, kind in rows],
            "actor_account_id": [a for a, *_ in rows],
            "target_account_id": [b for _, b, *_ in rows],
            "target_post_id": pa.nulls(len(rows), pa.string()),
            "post_id": pa.nulls(len(rows), pa.string()),
            "occurred_at": pa.array([ts * 1_000_000 for _, _, ts, _ in rows], pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "source_file": ["higgs-activity_time.txt.gz"] * len(rows),
            "source_line": pa.array(range(1, len(rows) + 1), pa.int64()),
        },
        schema=EVENTS,
    )


LINES = [
    ("223789", "213163", 1341100972, "MT"),
    ("223789", "213163", 1341100972, "RE"),
    ("376989", "50329", 1341101181, "RT"),
]


def manifest_for(table: pa.Table, **overrides) -> PartitionManifest:
    values = dict(
        network="twitter",
        entity="events",
        day=DAY,
        source_files=["higgs-activity_time.txt.gz"],
        source_sha256={"higgs-activity_time.txt.gz": "0" * 64},
        rows_read=table.num_rows,
        rows_written=table.num_rows,
    )
    values.update(overrides)
    return PartitionManifest(**values)


def hidden_leftovers(directory) -> list[str]:
    return [path.name for path in directory.iterdir() if path.name.startswith(".")]


def test_failure_mid_write_leaves_the_previous_partition_intact(tmp_path, monkeypatch):
    old = real_events(LINES)
    target = write_partition(tmp_path, "twitter", "events", DAY, old, manifest_for(old))
    before = {name: (target / name).read_bytes() for name in (PARQUET_FILE, MANIFEST_FILE)}

    def write_half_then_fail(table, where, **kwargs):
        with open(where, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(partition.pq, "write_table", write_half_then_fail)
    new = real_events(LINES[:1])
    with pytest.raises(OSError, match="disk full"):
        write_partition(tmp_path, "twitter", "events", DAY, new, manifest_for(new))

    assert {name: (target / name).read_bytes() for name in (PARQUET_FILE, MANIFEST_FILE)} == before
    assert hidden_leftovers(target.parent) == []


@pytest.mark.parametrize("atomic_exchange", [True, False], ids=["renameat2-exchange", "rename-aside"])
def test_rewrite_replaces_exactly_that_day(tmp_path, monkeypatch, atomic_exchange):
    if not atomic_exchange:
        monkeypatch.setattr(partition, "_renameat2", None)
    other_day = DAY - datetime.timedelta(days=1)
    table = real_events(LINES)
    write_partition(tmp_path, "twitter", "events", other_day, table, manifest_for(table, day=other_day))
    write_partition(tmp_path, "twitter", "events", DAY, table, manifest_for(table))
    smaller = real_events(LINES[:2])
    write_partition(tmp_path, "twitter", "events", DAY, smaller, manifest_for(smaller))

    assert pq.read_table(partition_dir(tmp_path, "twitter", "events", DAY) / PARQUET_FILE).num_rows == 2
    assert PartitionManifest.read(partition_dir(tmp_path, "twitter", "events", DAY)).rows_written == 2
    assert pq.read_table(partition_dir(tmp_path, "twitter", "events", other_day) / PARQUET_FILE).num_rows == 3
    assert sorted(path.name for path in (tmp_path / "twitter" / "events").iterdir()) == [
        "dt=2012-07-03",
        "dt=2012-07-04",
    ]


def test_manifest_counts_must_add_up(tmp_path):
    table = real_events(LINES)
    with pytest.raises(ValueError, match="rows_read 5 != written 3"):
        write_partition(tmp_path, "twitter", "events", DAY, table, manifest_for(table, rows_read=5))
    with pytest.raises(ValueError, match="rejected_by_reason"):
        manifest_for(
            table, rows_read=4, rows_rejected=1, rejected_by_reason={"wrong_column_count": 2}
        ).check_accounting()
    manifest_for(
        table,
        rows_read=5,
        rows_rejected=1,
        rejected_by_reason={"wrong_column_count": 1},
        rows_skipped=1,
        skipped_by_reason={"vote_type_not_social": 1},
    ).check_accounting()
    with pytest.raises(ValueError, match="manifest says 2"):
        write_partition(tmp_path, "twitter", "events", DAY, table, manifest_for(table, rows_written=2, rows_read=2))
    assert not (tmp_path / "twitter").exists()


def test_a_table_not_matching_the_contract_schema_is_refused(tmp_path):
    table = real_events(LINES).drop_columns(["post_id"])
    with pytest.raises(ValueError, match="schema differs"):
        write_partition(tmp_path, "twitter", "events", DAY, table, manifest_for(table))
    accounts = ACCOUNTS.empty_table()
    with pytest.raises(ValueError, match="schema differs"):
        write_partition(tmp_path, "twitter", "events", DAY, accounts, manifest_for(accounts))


def test_manifest_json_round_trip(tmp_path):
    table = real_events(LINES)
    written = manifest_for(
        table, rows_read=4, rows_rejected=1, rejected_by_reason={"unknown_event_type": 1}, duplicate_event_ids=0
    )
    directory = write_partition(tmp_path, "twitter", "events", DAY, table, written)
    assert PartitionManifest.read(directory) == written
    assert written.written_at.endswith("+00:00")


def test_quarantine_partition_exists_only_while_rows_are_rejected(tmp_path):
    rejected = pa.table(
        {
            "network": ["twitter"],
            "source_file": ["higgs-activity_time.txt.gz"],
            "source_line": pa.array([7], pa.int64()),
            "raw_record": ["223789 213163 1341100972"],
            "reason": ["wrong_column_count"],
            "detail": ["expected 4, got 3"],
        },
        schema=QUARANTINE,
    )
    where = write_quarantine(tmp_path, "twitter", "events", DAY, rejected)
    assert where is not None and pq.read_table(where / PARQUET_FILE).to_pylist()[0]["source_line"] == 7
    assert write_quarantine(tmp_path, "twitter", "events", DAY, QUARANTINE.empty_table()) is None
    assert not partition_dir(tmp_path, "twitter", "events", DAY).exists()
    assert hidden_leftovers(tmp_path / "twitter" / "events") == []


def test_every_source_the_pipeline_accepts_has_an_extractor() -> None:
    import extractors

    assert tuple(extractors.SOURCES) == KNOWN_SOURCES
