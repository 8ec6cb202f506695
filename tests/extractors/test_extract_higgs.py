"""Higgs extractor on real lines of the SNAP export."""

from __future__ import annotations

import datetime
import gzip
from collections import Counter

import pytest

from extractors import higgs
from influence.settings import partition_dir

from conftest import REAL_HIGGS, REAL_SAMPLES, gzip_bytes, real_higgs_lines

JULY_1 = datetime.date(2012, 7, 1)
JULY_2 = datetime.date(2012, 7, 2)
TYPES = {"RT": "reshare", "MT": "mention", "RE": "reply"}


def expected_events(lines: list[bytes], day: datetime.date, first_line: int = 1) -> list[dict]:
    """The contract's mapping, written out plainly for the lines of ``day``."""
    rows = []
    for number, line in enumerate(lines, start=first_line):
        actor, target, stamp, kind = line.decode().split()
        occurred = datetime.datetime.fromtimestamp(int(stamp), datetime.UTC)
        if occurred.date() == day:
            rows.append(
                {
                    "event_id": f"{kind.lower()}:{actor}:{target}:{stamp}",
                    "event_type": TYPES[kind],
                    "actor_account_id": actor,
                    "target_account_id": target,
                    "occurred_at": occurred,
                    "source_line": number,
                }
            )
    return rows


def test_real_lines_become_events_accounts_and_empty_links(dirs, higgs_file):
    lines = list(real_higgs_lines(3000))
    higgs_file(gzip_bytes(b"".join(lines)))

    manifests = higgs.extract_day(JULY_1, **dirs.kwargs())

    events = dirs.events("twitter", JULY_1).to_pylist()
    # The first three lines of the export, by hand: 223789 213163 1341100972 MT / RE, 376989 50329 1341101181 RT.
    assert events[0]["event_id"] == "mt:223789:213163:1341100972"
    assert events[0]["event_type"] == "mention"
    assert events[0]["occurred_at"] == datetime.datetime(2012, 7, 1, 0, 2, 52, tzinfo=datetime.UTC)
    assert events[1]["event_type"] == "reply" and events[1]["source_line"] == 2
    assert (events[2]["event_type"], events[2]["actor_account_id"], events[2]["target_account_id"]) == (
        "reshare",
        "376989",
        "50329",
    )
    assert all(row["network"] == "twitter" and row["source_file"] == "higgs-activity_time.txt.gz" for row in events)
    assert all(row["target_post_id"] is None and row["post_id"] is None for row in events)
    keep = ["event_id", "event_type", "actor_account_id", "target_account_id", "occurred_at", "source_line"]
    assert [{key: row[key] for key in keep} for row in events] == expected_events(lines, JULY_1)

    accounts = dirs.table("twitter", "accounts", JULY_1).to_pylist()
    seen = {field for line in lines for field in line.split()[:2]}
    assert [row["account_id"] for row in accounts] == sorted((value.decode() for value in seen), key=int)
    assert {row["snapshot_day"] for row in accounts} == {JULY_1}
    assert all(row["display_name"] is None and row["followers_count"] is None for row in accounts)
    assert dirs.table("twitter", "identity_links", JULY_1).num_rows == 0

    by_entity = {manifest.entity: manifest for manifest in manifests}
    assert set(by_entity) == {"events", "accounts", "identity_links"}
    assert by_entity["events"].rows_read == by_entity["events"].rows_written == len(events) == 3000
    assert by_entity["events"].self_interactions == sum(
        row["actor_account_id"] == row["target_account_id"] for row in events
    )
    assert by_entity["accounts"].rows_written == len(accounts)
    assert by_entity["events"].source_sha256 == {
        "higgs-activity_time.txt.gz": higgs.sha256_of(dirs.samples / "higgs" / "higgs-activity_time.txt.gz")
    }
    assert dirs.manifest("twitter", "events", JULY_1) == by_entity["events"]


def test_lines_split_at_utc_midnight_and_empty_days_still_get_partitions(dirs, higgs_file):
    lines = list(real_higgs_lines(4400))[4100:]  # the export crosses 2012-07-02 00:00Z at line 4171
    higgs_file(gzip_bytes(b"".join(lines)))

    for day in (JULY_1, JULY_2):
        higgs.extract_day(day, **dirs.kwargs())
        rows = dirs.events("twitter", day).select(["event_id", "source_line"]).to_pylist()
        assert [row["source_line"] for row in rows] == [row["source_line"] for row in expected_events(lines, day)]
    assert dirs.events("twitter", JULY_1).num_rows == 70 and dirs.events("twitter", JULY_2).num_rows == 230

    quiet = datetime.date(2012, 6, 30)
    manifests = higgs.extract_day(quiet, **dirs.kwargs())
    assert [(manifest.entity, manifest.rows_read) for manifest in manifests] == [
        ("events", 0),
        ("accounts", 0),
        ("identity_links", 0),
    ]
    for entity in ("events", "accounts", "identity_links"):
        assert dirs.table("twitter", entity, quiet).num_rows == 0


def test_whole_week_of_the_real_export_adds_up(dirs):
    expected = Counter()
    with gzip.open(REAL_HIGGS, "rt") as handle:
        for line in handle:
            expected[datetime.datetime.fromtimestamp(int(line.split()[2]), datetime.UTC).date()] += 1
    assert sum(expected.values()) == 563_069

    written = {}
    for offset in range(7):
        day = JULY_1 + datetime.timedelta(days=offset)
        manifests = higgs.extract_day(
            day, samples_dir=REAL_SAMPLES, raw_dir=dirs.raw, quarantine_dir=dirs.quarantine, cache_dir=dirs.cache
        )
        events = next(manifest for manifest in manifests if manifest.entity == "events")
        assert events.rows_read == events.rows_written and events.rows_rejected == 0
        written[day] = events.rows_written
    assert written == dict(expected)
    assert written[datetime.date(2012, 7, 4)] == 356_388  # the announcement-day spike
    assert not (dirs.quarantine / "twitter").exists()


def test_parsed_once_per_content(dirs, higgs_file, monkeypatch):
    lines = list(real_higgs_lines(500))
    higgs_file(gzip_bytes(b"".join(lines)))
    higgs.extract_day(JULY_1, **dirs.kwargs())

    def must_not_parse(*_args):
        raise AssertionError("re-parsed although the content is unchanged")

    monkeypatch.setattr(higgs, "_parse_into_cache", must_not_parse)
    higgs.extract_day(JULY_1, **dirs.kwargs())  # same sha256: served from the cache

    higgs_file(gzip_bytes(b"".join(lines[:400])))
    with pytest.raises(AssertionError, match="re-parsed"):
        higgs.extract_day(JULY_1, **dirs.kwargs())  # new content: new cache key


def test_re_extracting_a_day_is_idempotent(dirs, higgs_file):
    higgs_file(gzip_bytes(b"".join(real_higgs_lines(1000))))
    higgs.extract_day(JULY_1, **dirs.kwargs())
    first = {
        entity: (partition_dir(dirs.raw, "twitter", entity, JULY_1) / "part-0.parquet").read_bytes()
        for entity in ("events", "accounts", "identity_links")
    }
    first_manifest = dirs.manifest("twitter", "events", JULY_1)

    higgs.extract_day(JULY_1, **dirs.kwargs())

    for entity, data in first.items():
        assert (partition_dir(dirs.raw, "twitter", entity, JULY_1) / "part-0.parquet").read_bytes() == data
    second_manifest = dirs.manifest("twitter", "events", JULY_1)
    second_manifest.written_at = first_manifest.written_at
    assert second_manifest == first_manifest
    assert sorted(path.name for path in (dirs.raw / "twitter" / "events").iterdir()) == ["dt=2012-07-01"]


def test_missing_export_is_a_one_line_source_error(dirs):
    with pytest.raises(higgs.SourceError) as raised:
        higgs.extract_day(JULY_1, **dirs.kwargs())
    message = str(raised.value)
    assert "\n" not in message and "higgs-activity_time.txt.gz" in message and "missing file" in message
    assert not dirs.raw.exists()
