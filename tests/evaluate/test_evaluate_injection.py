"""The anti-gaming injection writes exactly the rows the experiment describes, where dbt reads them."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors.schema import ACCOUNTS, EVENTS
from influence.errors import InfluenceError
from influence.evaluate import (
    RING_ID_START,
    genuine_plan,
    injected_accounts,
    injected_events,
    ring_plan,
    write_injection,
)

DAY = datetime.date(2012, 7, 2)


def test_ring_day_is_every_member_resharing_and_mentioning_the_target_and_each_other() -> None:
    plan = ring_plan("1234", size=4)
    events = injected_events(plan, DAY).to_pylist()
    # 4 members x (target + 3 others) x (reshare + mention)
    assert len(events) == 4 * 4 * 2
    members = {str(RING_ID_START + i) for i in range(4)}
    assert {row["actor_account_id"] for row in events} == members
    assert {row["target_account_id"] for row in events} == members | {"1234"}
    at_target = [row for row in events if row["target_account_id"] == "1234"]
    assert sorted((row["actor_account_id"], row["event_type"]) for row in at_target) == sorted(
        (member, kind) for member in members for kind in ("reshare", "mention")
    )
    assert all(row["actor_account_id"] != row["target_account_id"] for row in events)
    assert len({row["event_id"] for row in events}) == len(events)
    assert all(row["occurred_at"].date() == DAY for row in events)


def test_genuine_day_engages_only_the_target_with_the_same_count_as_the_ring() -> None:
    ring = injected_events(ring_plan("1234", size=3), DAY).to_pylist()
    genuine = injected_events(genuine_plan("1234", ["11", "12", "13"]), DAY).to_pylist()
    assert {row["target_account_id"] for row in genuine} == {"1234"}
    assert len(genuine) == len([row for row in ring if row["target_account_id"] == "1234"]) == 6
    assert [row["event_id"] for row in genuine][:2] == [
        f"inject-genuine:rt:11:1234:{int(datetime.datetime(2012, 7, 2, 12, tzinfo=datetime.UTC).timestamp())}",
        f"inject-genuine:mt:11:1234:{int(datetime.datetime(2012, 7, 2, 12, 0, 1, tzinfo=datetime.UTC).timestamp())}",
    ]


def test_only_new_ring_accounts_get_accounts_rows() -> None:
    assert injected_accounts(ring_plan("1", size=2), DAY).column("account_id").to_pylist() == [
        str(RING_ID_START),
        str(RING_ID_START + 1),
    ]
    assert injected_accounts(genuine_plan("1", ["5"]), DAY).num_rows == 0


def _extracted_partition(raw: Path, entity: str, day: datetime.date, table: pa.Table) -> Path:
    partition = raw / "twitter" / entity / f"dt={day.isoformat()}"
    partition.mkdir(parents=True)
    pq.write_table(table, partition / "part-0.parquet")
    manifest = {"rows_read": table.num_rows, "rows_written": table.num_rows, "source_files": ["higgs-activity_time.txt.gz"], "source_sha256": {}}
    (partition / "_manifest.json").write_text(json.dumps(manifest))
    return partition


def test_write_injection_appends_to_the_part_file_dbt_reads_and_keeps_the_manifest_in_step(tmp_path: Path) -> None:
    days = [DAY, DAY + datetime.timedelta(days=1)]
    real_event = injected_events(genuine_plan("7", ["8"]), DAY).slice(0, 1)  # stands in for one extracted row
    for day in days:
        _extracted_partition(tmp_path, "events", day, real_event)
        _extracted_partition(tmp_path, "accounts", day, ACCOUNTS.empty_table())
    written = write_injection(tmp_path, [ring_plan("99", size=3)], days)
    assert written == 2 * 3 * 3 * 2
    for day in days:
        partition = tmp_path / "twitter" / "events" / f"dt={day}"
        events = pq.read_table(partition / "part-0.parquet")
        assert events.schema.equals(EVENTS)
        assert events.num_rows == 1 + 18
        assert events.slice(0, 1).to_pylist() == real_event.to_pylist()  # extracted row kept, first
        manifest = json.loads((partition / "_manifest.json").read_text())
        assert (manifest["rows_read"], manifest["rows_written"]) == (19, 19)
        assert manifest["source_files"] == ["higgs-activity_time.txt.gz", "evaluation-injection-ring"]
        accounts = pq.read_table(tmp_path / "twitter" / "accounts" / f"dt={day}" / "part-0.parquet")
        assert accounts.column("snapshot_day").to_pylist() == [day] * 3
        assert sorted(p.name for p in partition.iterdir()) == ["_manifest.json", "part-0.parquet"]  # no temp left


def test_write_injection_refuses_a_day_that_was_not_extracted(tmp_path: Path) -> None:
    with pytest.raises(InfluenceError, match="no extracted part-0.parquet"):
        write_injection(tmp_path, [ring_plan("99", size=2)], [DAY])


def test_several_targets_in_one_scenario_get_disjoint_rings_with_unique_event_ids(tmp_path: Path) -> None:
    for entity, schema in (("events", EVENTS), ("accounts", ACCOUNTS)):
        _extracted_partition(tmp_path, entity, DAY, schema.empty_table())
    plans = [ring_plan("1", size=3), ring_plan("2", size=3, first_id=RING_ID_START + 3)]
    assert write_injection(tmp_path, plans, [DAY]) == 2 * 3 * 3 * 2
    events = pq.read_table(tmp_path / "twitter" / "events" / f"dt={DAY}" / "part-0.parquet").to_pylist()
    assert len({row["event_id"] for row in events}) == len(events)
    # no engagement crosses from one ring to the other ring's target
    assert {row["actor_account_id"] for row in events if row["target_account_id"] == "2"} == {
        str(RING_ID_START + i) for i in range(3, 6)
    }
    accounts = pq.read_table(tmp_path / "twitter" / "accounts" / f"dt={DAY}" / "part-0.parquet")
    assert accounts.num_rows == 6


def test_plans_sharing_engagers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="share engagers"):
        write_injection(tmp_path, [genuine_plan("1", ["5", "6"]), genuine_plan("2", ["6", "7"])], [DAY])
