"""Property 4 on the real Higgs week: a ring of 50 fake accounts injected into the sample barely
moves its target; the same engagements from 50 genuine accounts move theirs more (slow: two 7-day dbt
builds of an eighth of the sample)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dbt_world import JULY, DbtWorld, Events, at, extract_days, write_partition


def sliced_extract(world: DbtWorld, source_world: DbtWorld) -> None:
    """An eighth of the real Higgs accounts (by a stable hash of the actor id), all 7 days: the
    events' partitions filtered, every other partition copied as it is (the extractors' manifests
    are not: they count the unsliced rows, and no dbt model reads them)."""
    shutil.copytree(source_world.raw, world.raw, ignore=shutil.ignore_patterns("_manifest.json"))
    for path in sorted(world.raw.glob("twitter/events/dt=*/part-0.parquet")):
        events = pq.read_table(path)
        in_slice = [hashlib.sha1(actor.encode()).digest()[0] % 8 == 0
                    for actor in events["actor_account_id"].to_pylist()]
        pq.write_table(events.filter(pa.array(in_slice)), path)


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
    shutil.copytree(baseline.raw, injected.raw)
    baseline.build_range(JULY)
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
    injected.build_range(JULY)
    before = {t: baseline.person_score(last, f"twitter:{t}") for t in targets}
    after = {t: injected.person_score(last, f"twitter:{t}") for t in targets}
    ring_uplift = after[targets[0]] - before[targets[0]]
    genuine_uplift = after[targets[1]] - before[targets[1]]
    assert 0 <= ring_uplift <= 5, (ring_uplift, genuine_uplift)
    assert genuine_uplift > ring_uplift + 5, (ring_uplift, genuine_uplift)
