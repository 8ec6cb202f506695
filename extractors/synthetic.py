"""Synthetic social activity at any scale, written in the same raw Parquet layout as the real
extractors, so the whole pipeline can be driven at 10M accounts / 50M events a day.

What a day of a synthetic network holds (all vectorised numpy/pyarrow, generated and written in
chunks of CHUNK_ROWS rows so memory stays bounded whatever the scale):

- accounts: a fixed population per network (a snapshot every day, like the Stack Exchange
  extractor). Account index ``i`` is also its audience rank: followers_count falls off as a power
  law of the rank, so index 0 is the network's celebrity.
- organic events: actors drawn from a Zipf-like law over a seeded permutation of the accounts
  (activity is heavy-tailed but not the same ordering as audience); posts, then reshares, replies
  and likes of those posts (the post drawn from a power law over posts sorted by their author's
  audience, so big accounts' posts get most engagement), mentions, follows and unfollows (targets
  drawn from the audience law). Timestamps follow a diurnal curve peaking at 20:00 UTC;
  engagement happens after the post it engages with.
- a viral cascade: every day one network (rotating by day) has one post reshared by
  CASCADE_SHARE of its accounts, each at most once, in a burst after the post.
- a bot ring: RING_SIZE low-audience accounts that like and reshare each other's posts every day
  (every ordered pair), with almost no engagement outside the ring.
- bought followers: a follower farm of tail accounts that follows a few buyer accounts in a
  30-minute burst every day; the buyers' followers_count includes the bought followers.
- identity links: a share of accounts of syn_b, syn_c, ... are the same person as the account of
  the same audience rank in syn_a (namespace ``synthetic``), so person-level scores merge them.
- malformed records on demand (``malformed_share``): rows whose type is unknown, whose actor is
  missing, whose timestamp is outside the day or whose engagement has no target post. They are
  found by the same row validation every row goes through and quarantined with a reason, like the
  real extractors do with a bad input line.

Determinism: every random draw comes from a numpy Generator seeded by (seed, purpose, network,
day, chunk), so the same (seed, scale, day) gives byte-identical rows, and the population (who is
who, the ring, the farm, the links) depends on the seed only, not on the day.

``scale`` and ``seed`` default to INFLUENCE_SYNTHETIC_SCALE / INFLUENCE_SYNTHETIC_SEED so the
pipeline's generic ``extract_day(day, samples_dir=..., raw_dir=..., quarantine_dir=...)`` call can
be pointed at a scale by the benchmark.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extractors.partition import (
    PartitionManifest,
    _replace_directory,
    write_partition,
    write_quarantine,
)
from extractors.schema import ACCOUNTS, EVENTS, IDENTITY_LINKS, QUARANTINE
from influence.settings import MANIFEST_FILE, PARQUET_FILE

SOURCE = "synthetic"
IDENTITY_NAMESPACE = "synthetic"
GENERATOR_VERSION = "1"  # bump when the generated rows change for a given seed

CHUNK_ROWS = 2_000_000  # rows generated and written per Parquet row group


@dataclass(frozen=True)
class Scale:
    name: str
    accounts: int  # over all networks
    events_per_day: int  # over all networks, before malformed rows are added


SCALES: dict[str, Scale] = {
    # XS is the size the unit tests use: big enough for every phenomenon to show, fast to build.
    "XS": Scale("XS", 2_000, 20_000),
    "S": Scale("S", 100_000, 1_000_000),
    "M": Scale("M", 1_000_000, 10_000_000),
    "L": Scale("L", 10_000_000, 50_000_000),
}

# Networks and their share of accounts and of events.
NETWORK_SHARES: tuple[tuple[str, float], ...] = (("syn_a", 0.5), ("syn_b", 0.3), ("syn_c", 0.2))

# Organic event mix (shares of a network's organic events).
ORGANIC_MIX: tuple[tuple[str, float], ...] = (
    ("post", 0.11),
    ("reshare", 0.25),
    ("reply", 0.08),
    ("like", 0.40),
    ("mention", 0.08),
    ("follow", 0.06),
    ("unfollow", 0.02),
)
# Event types that engage with a post and therefore need target_post_id.
POST_ENGAGEMENT_TYPES = frozenset({"reshare", "reply", "like"})

ACTIVITY_EXPONENT = 0.95  # Zipf exponent of who acts
AUDIENCE_EXPONENT = 1.1  # Zipf exponent of who is followed / mentioned
POST_POPULARITY_EXPONENT = 0.85  # Zipf exponent over posts (sorted by author audience); steeper
# and the top organic post of a big network rivals the planted cascade
CASCADE_SHARE = 0.20  # share of the cascade network's accounts that reshare the viral post
LINKED_SHARE = 0.15  # share of a non-first network's accounts that are a syn_a person too
BUYERS_PER_NETWORK = 3
DIURNAL_PEAK_HOUR = 20.0
DIURNAL_AMPLITUDE = 0.6  # night-time rate is (1 - a) / (1 + a) of the peak rate

# Type codes: index into EVENT_TYPE_NAMES. The last name is deliberately not a contract event
# type: it is what an "unknown event type" malformed row carries.
EVENT_TYPE_NAMES: tuple[str, ...] = tuple(name for name, _ in ORGANIC_MIX) + ("boost",)
TYPE_CODE = {name: code for code, name in enumerate(EVENT_TYPE_NAMES)}
UNKNOWN_TYPE_CODE = TYPE_CODE["boost"]

# Malformed row kinds (== quarantine reasons), drawn uniformly among malformed rows.
MALFORMED_REASONS: tuple[str, ...] = (
    "unknown_event_type",
    "missing_actor",
    "timestamp_outside_day",
    "missing_target_post",
)

_US_PER_DAY = 86_400_000_000
_EPOCH = datetime.date(1970, 1, 1)
_CREATED_FROM = datetime.date(2008, 1, 1)  # account creation dates span 2008..2018
_CREATED_SPAN_DAYS = 3_650


@dataclass(frozen=True)
class NetworkPlan:
    """Everything about one synthetic network that depends on the seed and scale only."""

    network: str
    index: int
    accounts: int
    events_per_day: int
    ring_size: int
    farm_size: int


@dataclass(frozen=True)
class GroundTruth:
    """What the generator planted in a network on a day, for evaluation and tests (never written
    to the raw data: a detector has to find these from the events)."""

    network: str
    bot_ring: tuple[str, ...]
    follower_farm: tuple[str, ...]
    buyers: tuple[str, ...]
    cascade_post_id: str | None
    cascade_author: str | None


def resolve_scale(scale: str | None) -> Scale:
    name = scale or os.environ.get("INFLUENCE_SYNTHETIC_SCALE", "S")
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"synthetic scale {name!r} unknown; choose one of {', '.join(SCALES)}") from None


def resolve_seed(seed: int | None) -> int:
    return int(os.environ.get("INFLUENCE_SYNTHETIC_SEED", "42")) if seed is None else seed


def network_plans(scale: Scale) -> list[NetworkPlan]:
    plans = []
    for index, (network, share) in enumerate(NETWORK_SHARES):
        accounts = max(100, round(scale.accounts * share))
        plans.append(
            NetworkPlan(
                network=network,
                index=index,
                accounts=accounts,
                events_per_day=round(scale.events_per_day * share),
                ring_size=min(200, max(12, accounts // 5_000)),
                farm_size=min(20_000, max(30, accounts // 200)),
            )
        )
    return plans


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *key])))


# Purposes of random streams (part of the seed key, so adding a stream never shifts another).
_P_POPULATION, _P_POSTS, _P_CHUNK, _P_CASCADE, _P_RING, _P_FARM, _P_MALFORMED = range(7)


def _zipf_ranks(rng: np.random.Generator, size: int, population: int, exponent: float) -> np.ndarray:
    """Ranks 0..population-1 with P(rank r) ~ (r+1)^-exponent, by inverting the continuous
    truncated power law (vectorised, no per-rank table)."""
    u = rng.random(size)
    one_minus = 1.0 - exponent
    top = (population + 1.0) ** one_minus
    x = (u * (top - 1.0) + 1.0) ** (1.0 / one_minus)
    return np.minimum(x.astype(np.int64) - 1, population - 1)


@lru_cache(maxsize=1)
def _diurnal_cdf() -> np.ndarray:
    minutes = np.arange(1440) + 0.5
    rate = 1.0 + DIURNAL_AMPLITUDE * np.cos(2 * np.pi * (minutes / 60.0 - DIURNAL_PEAK_HOUR) / 24.0)
    cdf = np.cumsum(rate)
    return cdf / cdf[-1]


def _diurnal_offsets_us(rng: np.random.Generator, size: int) -> np.ndarray:
    """Microseconds after midnight, following the diurnal curve (minute from the CDF, uniform
    within the minute)."""
    minute = np.searchsorted(_diurnal_cdf(), rng.random(size), side="right")
    within = (rng.random(size) * 60_000_000).astype(np.int64)
    return minute.astype(np.int64) * 60_000_000 + within


class _Population:
    """Per-network, per-seed population: ids, activity order, planted roles. Cached because each
    day of a multi-day run and each chunk of a day reuse it."""

    def __init__(self, plan: NetworkPlan, seed: int) -> None:
        rng = _rng(seed, _P_POPULATION, plan.index)
        n = plan.accounts
        self.plan = plan
        # Account ids are numeric strings; the audience rank (index) is not visible in them.
        id_numbers = rng.permutation(np.arange(10_000_001, 10_000_001 + n, dtype=np.int64))
        self.account_ids: pa.Array = pc.cast(pa.array(id_numbers), pa.string())
        self.activity_order = rng.permutation(n)  # activity rank -> account index
        base = 40_000.0 * (np.arange(n) + 1.0) ** -0.9 * (n / 100_000) ** 0.5
        noise = rng.lognormal(0.0, 0.3, n)
        self.followers = np.floor(base * noise).astype(np.int64)
        self.created_at_us = (
            (_CREATED_FROM - _EPOCH).days * _US_PER_DAY
            + (rng.random(n) * _CREATED_SPAN_DAYS * _US_PER_DAY).astype(np.int64)
        )
        # Planted roles live in the audience tail (the last 40% by audience), disjoint.
        tail = np.arange(int(n * 0.6), n)
        roles = rng.choice(tail, plan.ring_size + plan.farm_size, replace=False)
        self.ring = np.sort(roles[: plan.ring_size])
        self.farm = np.sort(roles[plan.ring_size :])
        # Buyers are mid-audience accounts (rank ~1%..10%) that want to look bigger.
        mid = np.arange(max(1, n // 100), max(2, n // 10))
        self.buyers = np.sort(rng.choice(mid, BUYERS_PER_NETWORK, replace=False))
        self.followers[self.buyers] += plan.farm_size
        # Keep organic activity from landing on the planted accounts: organic actors are drawn
        # from this order with the planted accounts moved to the very end of the activity law.
        planted = np.zeros(n, dtype=bool)
        planted[self.ring] = True
        planted[self.farm] = True
        self.activity_order = np.concatenate(
            [self.activity_order[~planted[self.activity_order]], self.activity_order[planted[self.activity_order]]]
        )
        self.organic_actor_count = n - plan.ring_size - plan.farm_size
        # Cross-network persons: account i of this network is the same person as account i of
        # syn_a (same audience rank) for a seeded LINKED_SHARE of i.
        if plan.index == 0:
            self.linked = np.zeros(0, dtype=np.int64)
        else:
            self.linked = np.flatnonzero(rng.random(n) < LINKED_SHARE)

    def ids(self, indices: np.ndarray) -> pa.Array:
        return self.account_ids.take(pa.array(indices))


@lru_cache(maxsize=8)
def _population(plan: NetworkPlan, seed: int) -> _Population:
    return _Population(plan, seed)


def _day_index(day: datetime.date) -> int:
    return day.toordinal()


def cascade_network_index(day: datetime.date) -> int:
    return _day_index(day) % len(NETWORK_SHARES)


@dataclass
class _EventBlock:
    """A block of generated events as index arrays, before validation and stringification.
    Index -1 means null. Post references are indices into the day's post table."""

    type_code: np.ndarray  # int8
    actor: np.ndarray  # int64 account index
    target: np.ndarray  # int64 account index
    target_post: np.ndarray  # int64 post index
    creates_post: np.ndarray  # int64 post index created by this row (posts), else -1
    offset_us: np.ndarray  # int64 microseconds after the day's midnight


class _Posts:
    """The day's posts of one network: author and time, sorted so that post index 0 has the
    biggest author (engagement is drawn from a power law over this order)."""

    def __init__(self, author: np.ndarray, offset_us: np.ndarray) -> None:
        order = np.argsort(author, kind="stable")
        self.author = author[order]
        self.offset_us = offset_us[order]

    def __len__(self) -> int:
        return len(self.author)


def _after(rng: np.random.Generator, start_us: np.ndarray, skew: float) -> np.ndarray:
    """A time between start and the end of the day, skewed towards start (engagement comes soon
    after the post)."""
    return start_us + ((_US_PER_DAY - 1 - start_us) * rng.random(len(start_us)) ** skew).astype(np.int64)


class _DayPlan:
    """Sizes and shared tables for (network, day): posts (organic, ring, cascade)."""

    def __init__(self, plan: NetworkPlan, population: _Population, day: datetime.date, seed: int) -> None:
        self.plan = plan
        self.population = population
        day_key = _day_index(day)
        rng = _rng(seed, _P_POSTS, plan.index, day_key)
        n = plan.accounts
        self.is_cascade_day = cascade_network_index(day) == plan.index
        self.cascade_size = int(n * CASCADE_SHARE) if self.is_cascade_day else 0
        ring_pairs = plan.ring_size * (plan.ring_size - 1)
        self.ring_like_count = ring_pairs
        self.ring_reshare_count = ring_pairs // 2
        self.farm_follow_count = plan.farm_size * BUYERS_PER_NETWORK // 2
        planted = self.cascade_size + 1 + self.ring_like_count + self.ring_reshare_count + self.farm_follow_count
        planted += plan.ring_size * 3  # ring posts
        self.organic_count = max(0, plan.events_per_day - planted)
        shares = np.array([share for _, share in ORGANIC_MIX])
        self.organic_post_count = int(self.organic_count * shares[0])
        self.organic_other_count = self.organic_count - self.organic_post_count
        other_p = shares[1:] / shares[1:].sum()
        self.other_type_codes = np.arange(1, len(ORGANIC_MIX), dtype=np.int8)
        self.other_p = other_p
        # Organic posts: half by the activity law (prolific posters), half by the audience law.
        half = self.organic_post_count // 2
        by_activity = population.activity_order[
            _zipf_ranks(rng, half, population.organic_actor_count, ACTIVITY_EXPONENT)
        ]
        by_audience = _zipf_ranks(rng, self.organic_post_count - half, n, AUDIENCE_EXPONENT)
        organic = _Posts(np.concatenate([by_activity, by_audience]), _diurnal_offsets_us(rng, self.organic_post_count))
        # Ring posts (3 per member) and the cascade post come after the organic posts.
        ring_authors = np.repeat(population.ring, 3)
        ring_offsets = _diurnal_offsets_us(rng, len(ring_authors))
        # The viral post: by an account of rank ~0.1%, early afternoon, so the burst fits the day.
        cascade_author = np.array([max(1, n // 1000)], dtype=np.int64)
        cascade_offset = np.array([13 * 3_600_000_000 + int(rng.integers(0, 3_600_000_000))], dtype=np.int64)
        self.post_author = np.concatenate([organic.author, ring_authors, cascade_author])
        self.post_offset_us = np.concatenate([organic.offset_us, ring_offsets, cascade_offset])
        self.organic_posts = len(organic)
        self.ring_post_start = len(organic)
        self.cascade_post = len(self.post_author) - 1


def _organic_blocks(day_plan: _DayPlan, seed: int, day_key: int) -> Iterator[_EventBlock]:
    plan, population = day_plan.plan, day_plan.population
    # Organic posts first, then the other organic events, CHUNK_ROWS at a time.
    for start in range(0, day_plan.organic_posts, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, day_plan.organic_posts)
        post_index = np.arange(start, stop, dtype=np.int64)
        size = stop - start
        yield _EventBlock(
            type_code=np.full(size, TYPE_CODE["post"], dtype=np.int8),
            actor=day_plan.post_author[post_index],
            target=np.full(size, -1, dtype=np.int64),
            target_post=np.full(size, -1, dtype=np.int64),
            creates_post=post_index,
            offset_us=day_plan.post_offset_us[post_index],
        )
    for chunk, start in enumerate(range(0, day_plan.organic_other_count, CHUNK_ROWS)):
        size = min(CHUNK_ROWS, day_plan.organic_other_count - start)
        rng = _rng(seed, _P_CHUNK, plan.index, day_key, chunk)
        type_code = rng.choice(day_plan.other_type_codes, size, p=day_plan.other_p).astype(np.int8)
        actor = population.activity_order[_zipf_ranks(rng, size, population.organic_actor_count, ACTIVITY_EXPONENT)]
        engages_post = np.isin(type_code, [TYPE_CODE[name] for name in POST_ENGAGEMENT_TYPES])
        post = _zipf_ranks(rng, size, max(1, day_plan.organic_posts), POST_POPULARITY_EXPONENT)
        audience_target = _zipf_ranks(rng, size, plan.accounts, AUDIENCE_EXPONENT)
        target = np.where(engages_post, day_plan.post_author[post], audience_target)
        target_post = np.where(engages_post, post, -1)
        offset = np.where(
            engages_post,
            _after(rng, day_plan.post_offset_us[post], 3.0),
            _diurnal_offsets_us(rng, size),
        )
        yield _EventBlock(type_code, actor, target, target_post, np.full(size, -1, dtype=np.int64), offset)


def _planted_blocks(day_plan: _DayPlan, seed: int, day_key: int) -> Iterator[_EventBlock]:
    plan, population = day_plan.plan, day_plan.population
    # Ring: each member's 3 posts, then every ordered pair (a, b) a != b: a likes one of b's
    # posts; half of the pairs also reshare.
    ring_rng = _rng(seed, _P_RING, plan.index, day_key)
    ring_post_index = np.arange(day_plan.ring_post_start, day_plan.ring_post_start + plan.ring_size * 3)
    yield _EventBlock(
        type_code=np.full(len(ring_post_index), TYPE_CODE["post"], dtype=np.int8),
        actor=day_plan.post_author[ring_post_index],
        target=np.full(len(ring_post_index), -1, dtype=np.int64),
        target_post=np.full(len(ring_post_index), -1, dtype=np.int64),
        creates_post=ring_post_index,
        offset_us=day_plan.post_offset_us[ring_post_index],
    )
    members = np.arange(plan.ring_size)
    liker, liked = np.meshgrid(members, members, indexing="ij")
    off_diagonal = liker != liked
    liker, liked = liker[off_diagonal], liked[off_diagonal]
    reshare_pick = ring_rng.permutation(len(liker))[: day_plan.ring_reshare_count]
    actor_slot = np.concatenate([liker, liker[reshare_pick]])
    target_slot = np.concatenate([liked, liked[reshare_pick]])
    type_code = np.concatenate(
        [np.full(len(liker), TYPE_CODE["like"], dtype=np.int8), np.full(len(reshare_pick), TYPE_CODE["reshare"], dtype=np.int8)]
    )
    target_post = day_plan.ring_post_start + target_slot * 3 + ring_rng.integers(0, 3, len(target_slot))
    yield _EventBlock(
        type_code=type_code,
        actor=population.ring[actor_slot],
        target=population.ring[target_slot],
        target_post=target_post,
        creates_post=np.full(len(actor_slot), -1, dtype=np.int64),
        offset_us=_after(ring_rng, day_plan.post_offset_us[target_post], 2.0),
    )
    # Bought followers: half the farm follows each buyer today, inside a 30-minute burst.
    farm_rng = _rng(seed, _P_FARM, plan.index, day_key)
    per_buyer = plan.farm_size // 2
    followers = np.concatenate([farm_rng.choice(population.farm, per_buyer, replace=False) for _ in population.buyers])
    buyers = np.repeat(population.buyers, per_buyer)
    burst_start = farm_rng.integers(0, 23 * 3_600_000_000, BUYERS_PER_NETWORK)
    offsets = np.repeat(burst_start, per_buyer) + farm_rng.integers(0, 1_800_000_000, len(buyers))
    yield _EventBlock(
        type_code=np.full(len(buyers), TYPE_CODE["follow"], dtype=np.int8),
        actor=followers,
        target=buyers,
        target_post=np.full(len(buyers), -1, dtype=np.int64),
        creates_post=np.full(len(buyers), -1, dtype=np.int64),
        offset_us=offsets,
    )
    # Cascade: the viral post, then one reshare by each of CASCADE_SHARE of the accounts.
    if day_plan.is_cascade_day:
        cascade_rng = _rng(seed, _P_CASCADE, plan.index, day_key)
        post = day_plan.cascade_post
        author = day_plan.post_author[post]
        yield _EventBlock(
            type_code=np.array([TYPE_CODE["post"]], dtype=np.int8),
            actor=np.array([author]),
            target=np.array([-1]),
            target_post=np.array([-1]),
            creates_post=np.array([post]),
            offset_us=day_plan.post_offset_us[[post]],
        )
        candidates = np.flatnonzero(cascade_rng.random(plan.accounts) < CASCADE_SHARE * 1.02)
        candidates = candidates[candidates != author]
        resharers = np.sort(cascade_rng.choice(candidates, min(day_plan.cascade_size, len(candidates)), replace=False))
        for start in range(0, len(resharers), CHUNK_ROWS):
            part = resharers[start : start + CHUNK_ROWS]
            yield _EventBlock(
                type_code=np.full(len(part), TYPE_CODE["reshare"], dtype=np.int8),
                actor=part,
                target=np.full(len(part), author),
                target_post=np.full(len(part), post),
                creates_post=np.full(len(part), -1, dtype=np.int64),
                offset_us=_after(cascade_rng, np.full(len(part), day_plan.post_offset_us[post]), 2.5),
            )


def _inject_malformed(block: _EventBlock, rng: np.random.Generator, share: float) -> None:
    """Corrupt ``share`` of the block's rows in place, one malformed kind per row."""
    bad = np.flatnonzero(rng.random(len(block.type_code)) < share)
    kind = rng.integers(0, len(MALFORMED_REASONS), len(bad))
    block.type_code[bad[kind == 0]] = UNKNOWN_TYPE_CODE
    block.actor[bad[kind == 1]] = -1
    block.offset_us[bad[kind == 2]] += 3 * _US_PER_DAY
    # A post-less engagement: make it a like whose target post is missing.
    missing_post = bad[kind == 3]
    block.type_code[missing_post] = TYPE_CODE["like"]
    block.target_post[missing_post] = -1


def _rejection_reasons(block: _EventBlock) -> np.ndarray:
    """Per row: 0 if valid, else 1 + index into MALFORMED_REASONS (first failing rule wins)."""
    reason = np.zeros(len(block.type_code), dtype=np.int8)
    engages_post = np.isin(block.type_code, [TYPE_CODE[name] for name in POST_ENGAGEMENT_TYPES])
    rules = (
        block.type_code == UNKNOWN_TYPE_CODE,
        block.actor < 0,
        (block.offset_us < 0) | (block.offset_us >= _US_PER_DAY),
        engages_post & (block.target_post < 0),
    )
    for code in range(len(rules) - 1, -1, -1):  # reversed so the first rule wins
        reason[rules[code]] = code + 1
    return reason


class _Stringifier:
    """Turns index blocks into Arrow columns of the raw schema."""

    def __init__(self, day_plan: _DayPlan, day: datetime.date, source_file: str) -> None:
        self.day_plan = day_plan
        self.population = day_plan.population
        self.network = day_plan.plan.network
        self.midnight_us = (day - _EPOCH).days * _US_PER_DAY
        self.day_tag = day.strftime("%Y%m%d")
        self.source_file = source_file
        self.type_names = pa.array(EVENT_TYPE_NAMES, pa.string())

    def _account_column(self, indices: np.ndarray) -> pa.Array:
        valid = indices >= 0
        taken = self.population.ids(np.where(valid, indices, 0))
        return taken if valid.all() else pc.if_else(pa.array(valid), taken, pa.scalar(None, pa.string()))

    def _post_column(self, indices: np.ndarray) -> pa.Array:
        valid = indices >= 0
        ids = pc.binary_join_element_wise(
            f"p{self.day_tag}-", pc.cast(pa.array(indices), pa.string()), ""
        )
        return ids if valid.all() else pc.if_else(pa.array(valid), ids, pa.scalar(None, pa.string()))

    def _timestamps(self, offsets: np.ndarray) -> pa.Array:
        return pa.array(offsets + self.midnight_us, pa.timestamp("us", tz="UTC"))

    def events(self, block: _EventBlock, lines: np.ndarray) -> pa.Table:
        size = len(lines)
        event_ids = pc.binary_join_element_wise(f"{self.day_tag}-", pc.cast(pa.array(lines), pa.string()), "")
        columns = [
            pa.repeat(self.network, size),
            event_ids,
            self.type_names.take(pa.array(block.type_code)),
            self._account_column(block.actor),
            self._account_column(block.target),
            self._post_column(block.target_post),
            self._post_column(block.creates_post),
            self._timestamps(block.offset_us),
            pa.repeat(self.source_file, size),
            pa.array(lines, pa.int64()),
        ]
        return pa.Table.from_arrays(columns, schema=EVENTS)

    def quarantine(self, block: _EventBlock, lines: np.ndarray, reason_codes: np.ndarray) -> pa.Table:
        """The rejected rows as their feed record (``key=value`` text) with reason and detail."""
        size = len(lines)
        type_names = pa.array(EVENT_TYPE_NAMES).take(pa.array(block.type_code))
        offsets = pa.array(block.offset_us + self.midnight_us, pa.timestamp("us", tz="UTC"))
        parts = [
            ("event_type=", type_names),
            (" actor=", self._account_column(block.actor)),
            (" target=", self._account_column(block.target)),
            (" target_post=", self._post_column(block.target_post)),
            (" occurred_at=", pc.strftime(offsets, format="%Y-%m-%dT%H:%M:%SZ")),
        ]
        record = None
        for label, column in parts:
            piece = pc.binary_join_element_wise(label, pc.fill_null(column, "null"), "")
            record = piece if record is None else pc.binary_join_element_wise(record, piece, "")
        reason_names = pa.array(("",) + MALFORMED_REASONS).take(pa.array(reason_codes))
        details = pa.array(
            (
                "",
                f"event type not one of {', '.join(EVENT_TYPE_NAMES[:-1])}",
                "actor account is empty",
                f"occurred_at outside {self.day_tag} UTC",
                "engagement without a target post",
            )
        ).take(pa.array(reason_codes))
        return pa.Table.from_arrays(
            [
                pa.repeat(self.network, size),
                pa.repeat(self.source_file, size),
                pa.array(lines, pa.int64()),
                record if record is not None else pa.array([], pa.string()),
                reason_names,
                details,
            ],
            schema=QUARANTINE,
        )


def _source_file(plan: NetworkPlan, scale: Scale, seed: int, day: datetime.date) -> str:
    return f"synthetic-v{GENERATOR_VERSION}-{scale.name}-seed{seed}-{plan.network}-{day.isoformat()}"


def _write_events(
    day_plan: _DayPlan,
    day: datetime.date,
    seed: int,
    malformed_share: float,
    source_file: str,
    raw_dir: Path,
    quarantine_dir: Path,
    source_sha256: dict[str, str],
) -> PartitionManifest:
    plan = day_plan.plan
    day_key = _day_index(day)
    stringify = _Stringifier(day_plan, day, source_file)
    malformed_rng = _rng(seed, _P_MALFORMED, plan.index, day_key)
    counts = {"read": 0, "written": 0, "self": 0}
    rejected_by_reason: dict[str, int] = {}
    rejected_tables: list[pa.Table] = []

    def fill(directory: Path) -> None:
        # Parquet encoding (zstd) runs on a writer thread while the next block is generated:
        # both release the GIL, so the two cores overlap. At most two blocks wait, which keeps
        # memory bounded by a few CHUNK_ROWS blocks whatever the scale.
        with pq.ParquetWriter(directory / PARQUET_FILE, EVENTS, compression="zstd") as writer, ThreadPoolExecutor(
            max_workers=1
        ) as write_pool:
            pending: deque[Future[None]] = deque()
            blocks = itertools.chain(_organic_blocks(day_plan, seed, day_key), _planted_blocks(day_plan, seed, day_key))
            for block in blocks:
                size = len(block.type_code)
                lines = np.arange(counts["read"] + 1, counts["read"] + 1 + size, dtype=np.int64)
                counts["read"] += size
                if malformed_share > 0:
                    _inject_malformed(block, malformed_rng, malformed_share)
                reasons = _rejection_reasons(block)
                good = reasons == 0
                if not good.all():
                    bad = ~good
                    bad_block = _EventBlock(*(getattr(block, f)[bad] for f in _EventBlock.__dataclass_fields__))
                    rejected_tables.append(stringify.quarantine(bad_block, lines[bad], reasons[bad]))
                    for code, count in zip(*np.unique(reasons[bad], return_counts=True), strict=True):
                        name = MALFORMED_REASONS[code - 1]
                        rejected_by_reason[name] = rejected_by_reason.get(name, 0) + int(count)
                    block = _EventBlock(*(getattr(block, f)[good] for f in _EventBlock.__dataclass_fields__))
                    lines = lines[good]
                counts["self"] += int(np.count_nonzero(block.actor == block.target))
                counts["written"] += len(lines)
                table = stringify.events(block, lines)
                while len(pending) >= 2:
                    pending.popleft().result()
                pending.append(write_pool.submit(writer.write_table, table, row_group_size=CHUNK_ROWS))
            for future in pending:
                future.result()
        manifest.rows_read = counts["read"]
        manifest.rows_written = counts["written"]
        manifest.rows_rejected = sum(rejected_by_reason.values())
        manifest.rejected_by_reason = dict(sorted(rejected_by_reason.items()))
        manifest.self_interactions = counts["self"]
        manifest.check_accounting()
        manifest.written_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        (directory / MANIFEST_FILE).write_text(manifest.to_json())

    manifest = PartitionManifest(
        network=plan.network,
        entity="events",
        day=day,
        source_files=[source_file],
        source_sha256=source_sha256,
        rows_read=0,
        rows_written=0,
    )
    # Streamed row group by row group, so the partition swap of extractors.partition is used
    # directly instead of write_partition (which takes a whole in-memory table).
    _replace_directory(raw_dir / plan.network / "events" / f"dt={day.isoformat()}", fill)
    quarantined = pa.concat_tables(rejected_tables) if rejected_tables else QUARANTINE.empty_table()
    write_quarantine(quarantine_dir, plan.network, "events", day, quarantined)
    return manifest


def _accounts_table(population: _Population, day: datetime.date) -> pa.Table:
    n = population.plan.accounts
    ids = population.account_ids
    return pa.Table.from_arrays(
        [
            pa.repeat(population.plan.network, n),
            ids,
            pc.binary_join_element_wise("user ", ids, ""),
            pa.array(population.created_at_us, pa.timestamp("us", tz="UTC")),
            pa.nulls(n, pa.int64()),
            pa.array(population.followers, pa.int64()),
            pa.array(np.full(n, (day - _EPOCH).days, dtype=np.int32), pa.date32()),
        ],
        schema=ACCOUNTS,
    )


def _identity_links_table(population: _Population, first: _Population, others: list[_Population]) -> pa.Table:
    """Links of the multi-network persons: account i of syn_b (or syn_c, ...) and account i of
    syn_a share an identity key (the syn_a account id); syn_a writes its side of every link."""
    plan = population.plan
    if plan.index == 0:
        linked = np.unique(np.concatenate([other.linked for other in others] or [np.zeros(0, np.int64)]))
        own_ids = first.ids(linked)
        keys = own_ids
    else:
        linked = population.linked[population.linked < first.plan.accounts]
        own_ids = population.ids(linked)
        keys = first.ids(linked)
    size = len(linked)
    return pa.Table.from_arrays(
        [pa.repeat(plan.network, size), own_ids, pa.repeat(IDENTITY_NAMESPACE, size), keys],
        schema=IDENTITY_LINKS,
    )


def extract_day(
    day: datetime.date,
    *,
    samples_dir: Path | None = None,
    raw_dir: Path,
    quarantine_dir: Path,
    scale: str | None = None,
    seed: int | None = None,
    malformed_share: float = 0.0,
    cache_dir: Path | None = None,
) -> list[PartitionManifest]:
    """Generate and write one day of every synthetic network (events, accounts, identity links).
    ``samples_dir`` and ``cache_dir`` are accepted for the common extractor signature; nothing is
    read from or cached in them (generating is cheaper than caching)."""
    if not 0.0 <= malformed_share < 0.5:
        raise ValueError(f"malformed_share must be in [0, 0.5), got {malformed_share}")
    resolved = resolve_scale(scale)
    resolved_seed = resolve_seed(seed)
    plans = network_plans(resolved)
    populations = [_population(plan, resolved_seed) for plan in plans]
    manifests: list[PartitionManifest] = []
    for plan, population in zip(plans, populations, strict=True):
        source_file = _source_file(plan, resolved, resolved_seed, day)
        # The "source checksum" of generated data: the digest of everything that determines it.
        spec = f"{source_file}|malformed={malformed_share!r}|chunk={CHUNK_ROWS}"
        checksum = {source_file: hashlib.sha256(spec.encode()).hexdigest()}
        day_plan = _DayPlan(plan, population, day, resolved_seed)
        manifests.append(
            _write_events(day_plan, day, resolved_seed, malformed_share, source_file, raw_dir, quarantine_dir, checksum)
        )
        for entity, table in (
            ("accounts", _accounts_table(population, day)),
            ("identity_links", _identity_links_table(population, populations[0], populations[1:])),
        ):
            manifest = PartitionManifest(
                network=plan.network,
                entity=entity,
                day=day,
                source_files=[source_file],
                source_sha256=checksum,
                rows_read=table.num_rows,
                rows_written=table.num_rows,
            )
            write_partition(raw_dir, plan.network, entity, day, table, manifest)
            write_quarantine(quarantine_dir, plan.network, entity, day, QUARANTINE.empty_table())
            manifests.append(manifest)
    return manifests


def ground_truth(day: datetime.date, *, scale: str | None = None, seed: int | None = None) -> list[GroundTruth]:
    """What was planted on ``day`` in each network (see GroundTruth)."""
    resolved = resolve_scale(scale)
    resolved_seed = resolve_seed(seed)
    truths = []
    for plan in network_plans(resolved):
        population = _population(plan, resolved_seed)
        day_plan = _DayPlan(plan, population, day, resolved_seed)
        is_cascade = day_plan.is_cascade_day
        truths.append(
            GroundTruth(
                network=plan.network,
                bot_ring=tuple(population.ids(population.ring).to_pylist()),
                follower_farm=tuple(population.ids(population.farm).to_pylist()),
                buyers=tuple(population.ids(population.buyers).to_pylist()),
                cascade_post_id=f"p{day.strftime('%Y%m%d')}-{day_plan.cascade_post}" if is_cascade else None,
                cascade_author=(
                    population.ids(day_plan.post_author[[day_plan.cascade_post]]).to_pylist()[0] if is_cascade else None
                ),
            )
        )
    return truths
