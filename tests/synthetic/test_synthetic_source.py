"""The synthetic source at XS scale (2k accounts, 20k events a day): what the benchmark relies on
(same layout and schema as the real extractors, determinism) and that every planted phenomenon
is really in the rows (power law, cascade, bot ring, bought followers, identity links, malformed
rows quarantined with exact accounting)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from extractors import synthetic
from extractors.partition import PartitionManifest
from extractors.schema import ENTITIES, QUARANTINE, SCHEMAS
from influence.settings import MANIFEST_FILE, PARQUET_FILE

NETWORKS = [network for network, _ in synthetic.NETWORK_SHARES]


def _cascade_day_for(network_index: int) -> datetime.date:
    day = datetime.date(2024, 3, 1)
    while synthetic.cascade_network_index(day) != network_index:
        day += datetime.timedelta(days=1)
    return day


DAY = _cascade_day_for(0)  # syn_a carries the viral cascade on this day


def _extract(base: Path, day: datetime.date = DAY, **kwargs: object) -> list[PartitionManifest]:
    return synthetic.extract_day(
        day, samples_dir=base / "samples", raw_dir=base / "raw", quarantine_dir=base / "quarantine", scale="XS", **kwargs
    )


def _events(base: Path, network: str, day: datetime.date = DAY) -> str:
    return str(base / "raw" / network / "events" / f"dt={day.isoformat()}" / PARQUET_FILE)


@pytest.fixture(scope="module")
def clean_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("synthetic_clean")
    _extract(base)
    return base


def test_writes_every_entity_of_every_network_with_the_contract_schema(clean_day: Path) -> None:
    for network in NETWORKS:
        for entity in ENTITIES:
            partition = clean_day / "raw" / network / entity / f"dt={DAY.isoformat()}"
            table = pq.read_table(partition / PARQUET_FILE)
            assert table.schema.equals(SCHEMAS[entity]), f"{network}/{entity}: {table.schema}"
            manifest = PartitionManifest.read(partition)
            assert manifest.rows_written == table.num_rows > 0
            assert manifest.network == network and manifest.entity == entity and manifest.day == DAY
            assert set(table.column("network").to_pylist()) == {network}


def test_same_seed_and_day_give_byte_identical_rows(tmp_path: Path, clean_day: Path) -> None:
    _extract(tmp_path)
    for network in NETWORKS:
        for entity in ENTITIES:
            relative = Path("raw") / network / entity / f"dt={DAY.isoformat()}" / PARQUET_FILE
            assert (tmp_path / relative).read_bytes() == (clean_day / relative).read_bytes(), relative


def test_another_seed_gives_other_rows(tmp_path: Path, clean_day: Path) -> None:
    _extract(tmp_path, seed=7)
    ours = pq.read_table(_events(tmp_path, "syn_a")).column("actor_account_id").to_pylist()
    theirs = pq.read_table(_events(clean_day, "syn_a")).column("actor_account_id").to_pylist()
    assert ours != theirs


def test_event_ids_unique_and_event_types_in_the_contract(clean_day: Path) -> None:
    for network in NETWORKS:
        rows, distinct, types = duckdb.sql(
            f"select count(*), count(distinct event_id), list(distinct event_type) from '{_events(clean_day, network)}'"
        ).fetchone()
        assert rows == distinct
        assert set(types) <= {"post", "reshare", "reply", "like", "mention", "follow", "unfollow"}
        assert {"follow", "unfollow", "post", "reshare"} <= set(types)


def test_attention_follows_a_power_law(clean_day: Path) -> None:
    # The top 1% of syn_a's accounts receive a large share of everything aimed at an account
    # (a uniform draw would give them 1%), and the same holds for who acts.
    path = _events(clean_day, "syn_a")
    for column in ("target_account_id", "actor_account_id"):
        top_share = duckdb.sql(
            f"""
            with per_account as (
                select {column} as account, count(*) as n from '{path}' where {column} is not null group by 1),
            ranked as (select n, row_number() over (order by n desc) as r from per_account)
            select sum(n) filter (where r <= 10) / sum(n) from ranked  -- 10 = 1% of 1000 accounts
            """
        ).fetchone()[0]
        assert top_share > 0.2, f"{column}: top 1% share {top_share:.3f}"


def test_timestamps_are_diurnal_and_inside_the_day(clean_day: Path) -> None:
    # timezone('UTC', …): hours and dates in UTC whatever the test machine's time zone
    evening, early_morning, outside = duckdb.sql(
        f"""select count(*) filter (where hour(timezone('UTC', occurred_at)) between 18 and 21),
                   count(*) filter (where hour(timezone('UTC', occurred_at)) between 6 and 9),
                   count(*) filter (where timezone('UTC', occurred_at)::date <> DATE '{DAY}')
            from '{_events(clean_day, "syn_a")}'"""
    ).fetchone()
    assert outside == 0
    assert evening > 2 * early_morning


def test_viral_cascade_is_one_post_reshared_by_a_large_share_of_the_network(clean_day: Path) -> None:
    truth = {t.network: t for t in synthetic.ground_truth(DAY, scale="XS")}
    accounts = pq.read_metadata(clean_day / "raw" / "syn_a" / "accounts" / f"dt={DAY}" / PARQUET_FILE).num_rows
    top_post, resharers, reshares = duckdb.sql(
        f"""select target_post_id, count(distinct actor_account_id), count(*) from '{_events(clean_day, "syn_a")}'
            where event_type = 'reshare' group by 1 order by 2 desc limit 1"""
    ).fetchone()
    assert top_post == truth["syn_a"].cascade_post_id
    assert resharers >= 0.19 * accounts
    # The other networks have no cascade that day: their most reshared post is far smaller.
    assert truth["syn_b"].cascade_post_id is None
    other_top = duckdb.sql(
        f"""select count(distinct actor_account_id) from '{_events(clean_day, "syn_b")}'
            where event_type = 'reshare' group by target_post_id order by 1 desc limit 1"""
    ).fetchone()[0]
    assert other_top < resharers / 2


def test_bot_ring_is_identifiable_from_reciprocal_likes(clean_day: Path) -> None:
    # Detector: accounts with at least 10 distinct reciprocated like-partners, and whose likes
    # go at least 90% to reciprocated partners. Organic users never look like that; the ring does.
    truth = {t.network: t for t in synthetic.ground_truth(DAY, scale="XS")}
    for network in NETWORKS:
        detected = duckdb.sql(
            f"""
            with likes as (select distinct actor_account_id as a, target_account_id as b
                           from '{_events(clean_day, network)}' where event_type = 'like' and a <> b),
            mutual as (select l.a, l.b from likes l join likes r on l.a = r.b and l.b = r.a),
            per_account as (
                select l.a, count(*) as partners, count(m.b) as mutual_partners
                from likes l left join mutual m on l.a = m.a and l.b = m.b group by l.a)
            select a from per_account where mutual_partners >= 10 and mutual_partners >= 0.9 * partners
            """
        ).fetchall()
        assert {row[0] for row in detected} == set(truth[network].bot_ring), network


def test_bought_followers_arrive_in_bursts_from_follow_only_accounts(clean_day: Path) -> None:
    truth = {t.network: t for t in synthetic.ground_truth(DAY, scale="XS")}
    path = _events(clean_day, "syn_a")
    top_targets = duckdb.sql(
        f"""
        with follow_only as (
            select actor_account_id from '{path}' group by 1 having bool_and(event_type = 'follow'))
        select target_account_id, count(*) as n,
               date_diff('minute', min(occurred_at), max(occurred_at)) as spread_minutes
        from '{path}' where event_type = 'follow' and actor_account_id in (select * from follow_only)
        group by 1 order by n desc limit 3
        """
    ).fetchall()
    assert {row[0] for row in top_targets} == set(truth["syn_a"].buyers)
    assert all(row[2] <= 30 for row in top_targets)


def test_identity_links_join_the_same_person_across_networks(clean_day: Path) -> None:
    raw = clean_day / "raw"
    links = duckdb.sql(  # noqa: F841 (read below by name: DuckDB replacement scan)
        f"select * from read_parquet('{raw}/*/identity_links/dt={DAY}/{PARQUET_FILE}')"
    )
    persons = duckdb.sql(
        """select identity_key, list(distinct network order by network) as networks from links group by 1"""
    ).fetchall()
    assert len(persons) > 50
    assert all(networks[0] == "syn_a" and len(networks) >= 2 for _, networks in persons)
    a_accounts = duckdb.sql(
        f"select account_id from read_parquet('{raw}/syn_a/accounts/dt={DAY}/{PARQUET_FILE}')"
    ).fetchall()
    assert {key for key, _ in persons} <= {row[0] for row in a_accounts}


def test_malformed_rows_are_quarantined_with_reasons_and_exact_accounting(tmp_path: Path) -> None:
    manifests = _extract(tmp_path, malformed_share=0.05)
    for manifest in (m for m in manifests if m.entity == "events"):
        raw_lines = duckdb.sql(f"select source_line from '{_events(tmp_path, manifest.network)}'").fetchall()
        quarantine_path = tmp_path / "quarantine" / manifest.network / "events" / f"dt={DAY}" / PARQUET_FILE
        quarantined = pq.read_table(quarantine_path)
        assert quarantined.schema.equals(QUARANTINE)
        # Every generated row is either written or quarantined, exactly once.
        lines = sorted([row[0] for row in raw_lines] + quarantined.column("source_line").to_pylist())
        assert lines == list(range(1, manifest.rows_read + 1))
        assert manifest.rows_written == len(raw_lines)
        assert manifest.rows_rejected == quarantined.num_rows
        assert 0.035 < manifest.rows_rejected / manifest.rows_read < 0.065
        by_reason: dict[str, int] = {}
        for reason in quarantined.column("reason").to_pylist():
            by_reason[reason] = by_reason.get(reason, 0) + 1
        assert by_reason == manifest.rejected_by_reason
        assert set(by_reason) == set(synthetic.MALFORMED_REASONS)
        on_disk = json.loads((tmp_path / "raw" / manifest.network / "events" / f"dt={DAY}" / MANIFEST_FILE).read_text())
        assert on_disk["rows_rejected"] == manifest.rows_rejected
        # The written rows are clean: no row breaks the rules the quarantined ones broke.
        bad_written = duckdb.sql(
            f"""select count(*) from '{_events(tmp_path, manifest.network)}'
                where actor_account_id is null or timezone('UTC', occurred_at)::date <> DATE '{DAY}'
                   or (event_type in ('like', 'reshare', 'reply') and target_post_id is null)"""
        ).fetchone()[0]
        assert bad_written == 0


def test_re_extracting_a_day_replaces_it_and_removes_stale_quarantine(tmp_path: Path) -> None:
    _extract(tmp_path, malformed_share=0.05)
    quarantine_partition = tmp_path / "quarantine" / "syn_a" / "events" / f"dt={DAY}"
    assert quarantine_partition.exists()
    manifests = _extract(tmp_path)
    assert not quarantine_partition.exists()
    events = next(m for m in manifests if m.network == "syn_a" and m.entity == "events")
    assert pq.read_metadata(_events(tmp_path, "syn_a")).num_rows == events.rows_written == events.rows_read


def test_unknown_scale_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synthetic scale 'XL' unknown"):
        synthetic.extract_day(DAY, raw_dir=tmp_path, quarantine_dir=tmp_path, scale="XL")
