"""The model on real Higgs days (extracted with the real extractors): marts consistent, scale
semantics (property 8), and the anti-gaming experiment (property 4, slow)."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dbt_world import DbtWorld, Events, at, write_partition

from extractors import extract
from influence.settings import PROJECT_ROOT

SAMPLES = PROJECT_ROOT / "data" / "samples"
JULY = [datetime.date(2012, 7, day) for day in range(1, 8)]


def extract_days(world: DbtWorld, days: list[datetime.date]) -> None:
    for day in days:
        for source in ("higgs", "stackexchange"):
            extract(source, day, samples_dir=SAMPLES, raw_dir=world.raw, quarantine_dir=world.root / "quarantine")


@pytest.fixture(scope="module")
def two_higgs_days(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtWorld]:
    world = DbtWorld(tmp_path_factory.mktemp("higgs"))
    extract_days(world, JULY[:2])
    for day in JULY[:2]:
        world.build(day)
    yield world


@pytest.mark.slow
def test_marts_of_two_real_days_are_consistent(two_higgs_days: DbtWorld) -> None:
    world = two_higgs_days
    for day in JULY[:2]:
        persons, distinct, lowest, highest, ranks_ok = world.query("""
            select count(*), count(distinct person_id), min(score), max(score),
                   bool_and(rank = expected_rank)
            from (select *, row_number() over (order by score desc, person_id) as expected_rank
                  from marts.fct_person_scores where score_date = ?)""", day)[0]
        assert persons == distinct > 500
        assert 1.0 <= lowest <= highest <= 100.0
        assert ranks_ok
        raw_rows = pq.read_table(world.raw / "twitter" / "events" / f"dt={day}" / "part-0.parquet").num_rows
        read, accepted, dropped = world.query("""
            select rows_read, rows_accepted, rows_read - rows_accepted from intermediate.int_row_accounting
            where activity_date = ? and network = 'twitter'""", day)[0]
        assert read == raw_rows and accepted + dropped == raw_rows and dropped > 0   # Higgs has self-retweets
        changes = world.query("""
            select max(abs(score_change - (contribution_audience + contribution_amplification
                + contribution_conversation + contribution_mentions + contribution_appreciation
                + contribution_content + contribution_network_influence)))
            from marts.fct_score_changes where score_date = ?""", day)[0][0]
        assert changes <= 0.05


@pytest.mark.slow
def test_scale_semantics_on_real_data(two_higgs_days: DbtWorld) -> None:
    """Property 8: median 10-25, 50+ a few percent, 90+ very rare, gains harder near the top."""
    median, elite, exceptional = two_higgs_days.query("""
        select p50, share_elite_or_above, share_exceptional from marts.fct_score_percentiles
        where score_date = ? and scope = 'all'""", JULY[1])[0]
    assert 10 <= median <= 25
    assert 0.005 <= elite <= 0.06
    assert exceptional <= 0.001
    # the same raw-score step buys fewer points at the top than at the bottom
    bottom_slope, top_slope = two_higgs_days.query("""
        with ranked as (select score, raw_score, ntile(10) over (order by raw_score) as decile
                        from marts.fct_person_scores where score_date = ?)
        select (max(score) filter (where decile = 1) - min(score) filter (where decile = 1))
                 / (max(raw_score) filter (where decile = 1) - min(raw_score) filter (where decile = 1)),
               (max(score) filter (where decile = 10) - min(score) filter (where decile = 10))
                 / (max(raw_score) filter (where decile = 10) - min(raw_score) filter (where decile = 10))
        from ranked""", JULY[1])[0]
    assert top_slope < bottom_slope


# property 4 ---------------------------------------------------------------------------------------
def sliced_extract(world: DbtWorld, source_world: DbtWorld) -> None:
    """An eighth of the real Higgs accounts (by a stable hash of the actor id), all 7 days."""
    for path in sorted(source_world.raw.rglob("part-0.parquet")):
        relative = path.relative_to(source_world.raw)
        network, entity, partition = relative.parts[:3]
        day = datetime.date.fromisoformat(partition.removeprefix("dt="))
        rows = pq.read_table(path).to_pylist()
        if network == "twitter" and entity == "events":
            rows = [row for row in rows
                    if hashlib.sha1(row["actor_account_id"].encode()).digest()[0] % 8 == 0]
        write_partition(world.raw, network, entity, day, rows)


def inject(world: DbtWorld, ring_target: str, genuine_target: str, genuine_accounts: list[str]) -> None:
    """Ring: 50 fresh accounts reshare and mention each other and ring_target every day.
    Genuine: 50 real active accounts reshare and mention genuine_target every day: the same number
    of engagements on the target (100 a day)."""
    ring = [f"ring{n}" for n in range(50)]
    for day in JULY:
        partition = world.raw / "twitter" / "events" / f"dt={day}" / "part-0.parquet"
        batch = Events("twitter", pq.read_table(partition).to_pylist())
        second = 0
        for member in ring:
            for other in [*ring, ring_target]:
                if other != member:
                    for event_type in ("reshare", "mention"):
                        batch.add(event_type, member, other, at(day, second % 86000))
                        second += 17
        for index, account in enumerate(genuine_accounts):
            batch.add("reshare", account, genuine_target, at(day, 600 * index))
            batch.add("mention", account, genuine_target, at(day, 600 * index + 30))
        write_partition(world.raw, "twitter", "events", day, batch.rows)


@pytest.mark.slow
def test_a_ring_of_fake_accounts_barely_moves_its_target(tmp_path: Path) -> None:
    full = DbtWorld(tmp_path / "full")
    extract_days(full, JULY)
    baseline = DbtWorld(tmp_path / "baseline")
    sliced_extract(baseline, full)
    injected = DbtWorld(tmp_path / "injected")
    sliced_extract(injected, full)
    for day in JULY:
        baseline.build(day)
    last = JULY[-1]
    # two ordinary targets near the median, and 50 real accounts that acted and drew engagement
    targets = [person.removeprefix("twitter:") for (person,) in baseline.query("""
        select person_id from marts.fct_person_scores where score_date = ? and score between 12 and 25
        order by person_id limit 2""", last)]
    genuine = [key.removeprefix("twitter:") for (key,) in baseline.query("""
        select distinct quality.actor_key from intermediate.int_actor_quality as quality
        join marts.fct_account_factors as factors
          on factors.account_key = quality.actor_key and factors.score_date = quality.activity_date
        where quality.activity_date = ? and quality.authenticity = 1
          and quality.actor_key not in (?, ?)
        order by quality.actor_key limit 50""", JULY[2], *(f"twitter:{t}" for t in targets))]
    assert len(targets) == 2 and len(genuine) == 50
    inject(injected, targets[0], targets[1], genuine)
    for day in JULY:
        injected.build(day)
    before = {t: baseline.person_score(last, f"twitter:{t}") for t in targets}
    after = {t: injected.person_score(last, f"twitter:{t}") for t in targets}
    ring_uplift = after[targets[0]] - before[targets[0]]
    genuine_uplift = after[targets[1]] - before[targets[1]]
    assert 0 <= ring_uplift <= 5, (ring_uplift, genuine_uplift)
    assert genuine_uplift > ring_uplift + 5, (ring_uplift, genuine_uplift)
