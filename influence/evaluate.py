"""Evaluate the influence model on the real Higgs week: ``make evaluate`` (``python -m influence.evaluate``).

Everything runs in a scratch directory (``data/evaluation/`` unless ``INFLUENCE_EVALUATION_DIR``
says otherwise), with its own raw Parquet, quarantine and warehouse, so the user's published data
is never touched. Three builds of the same seven days, each day by day from an empty warehouse:

* ``clean``   — the Higgs sample as extracted;
* ``ring``    — plus, for each of three real targets, a ring of 50 new fake accounts that reshare
                and mention each other and the target every day (property 4 of the model);
* ``genuine`` — plus exactly the same engagements of each target from 50 real accounts that
                already had genuine activity in the sample.

From them the report measures predictive validity (scores as of 2012-07-03 against what each
account receives on 2012-07-04..07, against single-count baselines), the anti-gaming uplifts,
day-to-day stability, the score distribution and the top 20 with their explanations.

Every build is cached under a fingerprint of the dbt project's sources, the extractors, the
samples (and, for the injected builds, the injection), so a second run only re-reads the
warehouses and rewrites the report. ``--fresh`` forces rebuilds; ``--reuse`` re-renders from
whatever builds exist.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import hashlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from influence.errors import InfluenceError
from influence.settings import DBT_PROJECT_DIR, MANIFEST_FILE, MODEL_VERSION, PARQUET_FILE, PROJECT_ROOT, Paths, partition_dir, paths

NETWORK = "twitter"
# Every source with a committed sample is extracted for every day, as the daily DAG does: the
# Stack Exchange partitions of July 2012 are empty, but the dbt sources need their files to exist.
SOURCES: tuple[str, ...] = ("higgs", "stackexchange")
WEEK: tuple[datetime.date, ...] = tuple(datetime.date(2012, 7, 1) + datetime.timedelta(days=i) for i in range(7))
PREDICTION_DATE = datetime.date(2012, 7, 3)
OUTCOME_DAYS: tuple[datetime.date, ...] = tuple(day for day in WEEK if day > PREDICTION_DATE)
# The same comparison as of other days (outcome: the rest of the week), so a model change is not
# judged on one split only: 07-03 is the eve of the Higgs announcement, the others are not.
OTHER_PREDICTION_DATES: tuple[datetime.date, ...] = (datetime.date(2012, 7, 2), datetime.date(2012, 7, 4), datetime.date(2012, 7, 5))
NDCG_K = 100
RING_SIZE = 50
MAX_RING_UPLIFT = 5.0
# New account ids for the fake ring: Higgs ids are integers below 456,623, so these cannot clash.
RING_ID_START = 900_000_001
SELECTION_SEED = 20120704
BOOTSTRAP_RESAMPLES = 200
# Bump when the injected rows change shape, so cached scenario builds are not reused.
INJECTION_FORMAT = 1
# Event types in which the actor engages with the target's account or content. Posts, follows and
# downvotes are not engagement received.
ENGAGEMENT_TYPES: tuple[str, ...] = ("reshare", "reply", "comment", "mention", "like", "favourite", "answer", "accept")

REPORT_PATH = PROJECT_ROOT / "reports" / "evaluation.md"
PLOTS_DIR = PROJECT_ROOT / "reports" / "evaluation"


# --------------------------------------------------------------------------------------------
# Ranking metrics
# --------------------------------------------------------------------------------------------


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of the ranks they span (as scipy's rankdata 'average')."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Start index of each run of equal values in sorted order.
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    ends = np.concatenate((starts[1:], [len(values)]))
    mean_rank_of_run = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks_sorted = np.repeat(mean_rank_of_run, ends - starts)
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = ranks_sorted
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation with average ranks for ties; NaN if either side is constant."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"spearman: arrays differ in shape {x.shape} vs {y.shape}")
    if len(x) < 2:
        return math.nan
    rx = average_ranks(x) - (len(x) + 1) / 2.0
    ry = average_ranks(y) - (len(y) + 1) / 2.0
    denominator = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry) / denominator if denominator > 0 else math.nan


def ndcg_at_k(predicted: np.ndarray, relevance: np.ndarray, k: int) -> float:
    """NDCG@k with linear gains and the tie-aware DCG of McSherry & Najork (2008).

    Accounts the predictor cannot tell apart (equal predicted values) each get the mean relevance
    of their tie group, i.e. the expected gain over all orders of the tie. Without this a count
    baseline with thousands of ties would be scored on an arbitrary tie-break. NaN if every
    relevance is zero (nothing to find)."""
    predicted = np.asarray(predicted, dtype=float)
    relevance = np.asarray(relevance, dtype=float)
    if predicted.shape != relevance.shape:
        raise ValueError(f"ndcg_at_k: arrays differ in shape {predicted.shape} vs {relevance.shape}")
    if k <= 0:
        raise ValueError("ndcg_at_k: k must be positive")
    n = len(predicted)
    k = min(k, n)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(relevance)[::-1][:k]
    ideal_dcg = float(ideal @ discounts)
    if ideal_dcg <= 0:
        return math.nan
    order = np.argsort(-predicted, kind="mergesort")
    sorted_predicted = predicted[order]
    sorted_relevance = relevance[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_predicted[1:] != sorted_predicted[:-1])))
    ends = np.concatenate((starts[1:], [n]))
    group_means = np.add.reduceat(sorted_relevance, starts) / (ends - starts)
    position_gain = np.repeat(group_means, ends - starts)[:k]
    return float(position_gain @ discounts) / ideal_dcg


def pagerank(
    sources: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    node_count: int,
    damping: float = 0.85,
    tolerance: float = 1e-10,
    max_iterations: int = 200,
) -> tuple[np.ndarray, int]:
    """Weighted PageRank by power iteration over an edge list (sources/targets are node indices).

    Rank flows from actor to target, proportional to edge weight; nodes with no out-edges spread
    their rank uniformly. Returns (scores summing to 1, iterations until the L1 change fell
    below ``tolerance``)."""
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    if node_count == 0:
        return np.zeros(0), 0
    out_weight = np.bincount(sources, weights=weights, minlength=node_count)
    edge_share = weights / out_weight[sources]
    dangling = out_weight == 0
    rank = np.full(node_count, 1.0 / node_count)
    for iteration in range(1, max_iterations + 1):
        flowed = np.bincount(targets, weights=rank[sources] * edge_share, minlength=node_count)
        dangling_mass = rank[dangling].sum()
        updated = damping * (flowed + dangling_mass / node_count) + (1.0 - damping) / node_count
        change = float(np.abs(updated - rank).sum())
        rank = updated
        if change < tolerance:
            return rank, iteration
    return rank, max_iterations


def paired_bootstrap_difference(
    metric: Callable[[np.ndarray, np.ndarray], float],
    model: np.ndarray,
    baseline: np.ndarray,
    outcome: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = SELECTION_SEED,
) -> tuple[float, float]:
    """95% percentile interval of metric(model) - metric(baseline) over accounts resampled with
    replacement (the same resample for both, so the interval is for the difference itself)."""
    rng = np.random.default_rng(seed)
    n = len(outcome)
    differences = []
    for _ in range(resamples):
        picked = rng.integers(0, n, n)
        difference = metric(model[picked], outcome[picked]) - metric(baseline[picked], outcome[picked])
        if not math.isnan(difference):
            differences.append(difference)
    if not differences:
        return math.nan, math.nan
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(low), float(high)


# --------------------------------------------------------------------------------------------
# Raw events: what each account received, and the raw-count baselines
# --------------------------------------------------------------------------------------------


def events_glob(raw_dir: Path, network: str = NETWORK) -> str:
    """Every Parquet file of the network's event partitions (the clean part and any injected part)."""
    return str(raw_dir / network / "events" / "dt=*" / "*.parquet")


def clean_events_sql(source_sql: str) -> str:
    """Distinct engagement events (first copy of a duplicated event_id), self-engagement removed:
    the same rules the model's staging applies, so baselines and outcomes count what it counts."""
    types = ", ".join(f"'{event_type}'" for event_type in ENGAGEMENT_TYPES)
    return f"""
        select actor_account_id as actor, target_account_id as target, event_type, occurred_at
        from {source_sql}
        where event_type in ({types})
          and actor_account_id is not null and target_account_id is not null
          and actor_account_id <> target_account_id
        qualify row_number() over (partition by event_id order by source_file, source_line) = 1
    """


@dataclasses.dataclass
class AccountSignals:
    """Per account (aligned arrays), counted over events in [start, end)."""

    account_ids: np.ndarray  # str
    distinct_engagers: np.ndarray
    reshares_received: np.ndarray
    mentions_received: np.ndarray
    engagements_received: np.ndarray


def account_signals(
    con: duckdb.DuckDBPyConnection,
    events_sql: str,
    start: datetime.date,
    end: datetime.date,
    account_ids: Sequence[str] | None = None,
) -> AccountSignals:
    """Engagement received per account in [start, end). ``events_sql`` is a relation with the raw
    events columns. With ``account_ids`` the result is aligned to that list (0 for absent accounts);
    without, it covers every account seen as actor or target in the interval."""
    window = f"""
        select * from ({clean_events_sql(events_sql)})
        where occurred_at >= timestamptz '{start.isoformat()} 00:00:00+00'
          and occurred_at <  timestamptz '{end.isoformat()} 00:00:00+00'
    """
    received = con.sql(
        f"""
        select target as account_id,
               count(distinct actor) as distinct_engagers,
               count(*) filter (where event_type = 'reshare') as reshares_received,
               count(*) filter (where event_type = 'mention') as mentions_received,
               count(*) as engagements_received
        from ({window}) group by target
        """
    ).fetchnumpy()
    if account_ids is None:
        seen = con.sql(f"select actor as id from ({window}) union select target from ({window})").fetchnumpy()["id"]
        account_ids = sorted(str(value) for value in seen)
    ids = np.asarray(list(account_ids), dtype=object)
    position = {account_id: i for i, account_id in enumerate(ids)}
    columns = {name: np.zeros(len(ids), dtype=float) for name in ("distinct_engagers", "reshares_received", "mentions_received", "engagements_received")}
    for row, account_id in enumerate(received["account_id"]):
        i = position.get(str(account_id))
        if i is None:
            continue
        for name, values in columns.items():
            values[i] = float(received[name][row])
    return AccountSignals(account_ids=ids, **columns)


def plain_pagerank(
    con: duckdb.DuckDBPyConnection, events_sql: str, start: datetime.date, end: datetime.date, account_ids: Sequence[str]
) -> tuple[np.ndarray, int]:
    """PageRank alone over the engagement graph in [start, end): edge actor→target weighted by the
    number of engagements. Aligned to ``account_ids``; returns (scores, iterations)."""
    edges = con.sql(
        f"""
        select actor, target, count(*)::double as weight
        from ({clean_events_sql(events_sql)})
        where occurred_at >= timestamptz '{start.isoformat()} 00:00:00+00'
          and occurred_at <  timestamptz '{end.isoformat()} 00:00:00+00'
        group by actor, target
        """
    ).fetchnumpy()
    index = {account_id: i for i, account_id in enumerate(account_ids)}
    sources = np.array([index[str(a)] for a in edges["actor"]], dtype=np.int64)
    targets = np.array([index[str(t)] for t in edges["target"]], dtype=np.int64)
    return pagerank(sources, targets, np.asarray(edges["weight"], dtype=float), len(account_ids))


# --------------------------------------------------------------------------------------------
# Injection for the anti-gaming experiment
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InjectionPlan:
    """Who engages with the target. ``ring=True``: engagers also reshare and mention each other."""

    scenario: str
    target_id: str
    engager_ids: tuple[str, ...]
    ring: bool
    new_accounts: tuple[str, ...]  # ids that did not exist in the sample (written to accounts too)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def ring_plan(target_id: str, size: int = RING_SIZE, first_id: int = RING_ID_START) -> InjectionPlan:
    """A ring of ``size`` new accounts with consecutive ids from ``first_id``."""
    ids = tuple(str(first_id + i) for i in range(size))
    return InjectionPlan("ring", target_id, ids, ring=True, new_accounts=ids)


def genuine_plan(target_id: str, engager_ids: Sequence[str]) -> InjectionPlan:
    return InjectionPlan("genuine", target_id, tuple(engager_ids), ring=False, new_accounts=())


_TYPE_PREFIX = {"reshare": "rt", "mention": "mt"}


def injected_events(plan: InjectionPlan, day: datetime.date, network: str = NETWORK) -> pa.Table:
    """One day of injected events in the raw ``events`` schema.

    Every engager reshares the target once and mentions it once, a second apart, starting at
    noon; in a ring every member also reshares and mentions every other member. Event ids carry
    the scenario name, so they cannot collide with extracted ids."""
    from extractors.schema import EVENTS

    midnight = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    rows: dict[str, list] = {field.name: [] for field in EVENTS}
    second = 0

    def add(event_type: str, actor: str, target: str) -> None:
        nonlocal second
        occurred_at = midnight + datetime.timedelta(seconds=second)
        rows["network"].append(network)
        rows["event_id"].append(
            f"inject-{plan.scenario}:{_TYPE_PREFIX[event_type]}:{actor}:{target}:{int(occurred_at.timestamp())}"
        )
        rows["event_type"].append(event_type)
        rows["actor_account_id"].append(actor)
        rows["target_account_id"].append(target)
        rows["target_post_id"].append(None)
        rows["post_id"].append(None)
        rows["occurred_at"].append(occurred_at)
        rows["source_file"].append(f"evaluation-injection-{plan.scenario}")
        rows["source_line"].append(len(rows["event_id"]))
        second += 1

    for actor in plan.engager_ids:
        recipients = [plan.target_id]
        if plan.ring:
            recipients += [member for member in plan.engager_ids if member != actor]
        for recipient in recipients:
            add("reshare", actor, recipient)
            add("mention", actor, recipient)
    return pa.Table.from_pydict(rows, schema=EVENTS)


def injected_accounts(plan: InjectionPlan, day: datetime.date, network: str = NETWORK) -> pa.Table:
    """Accounts rows for the new ids (Higgs writes every account seen in a day's events)."""
    from extractors.schema import ACCOUNTS

    count = len(plan.new_accounts)
    return pa.Table.from_pydict(
        {
            "network": [network] * count,
            "account_id": list(plan.new_accounts),
            "display_name": [None] * count,
            "created_at": [None] * count,
            "reputation": [None] * count,
            "followers_count": [None] * count,
            "snapshot_day": [day] * count,
        },
        schema=ACCOUNTS,
    )


def write_injection(raw_dir: Path, plans: Sequence[InjectionPlan], days: Iterable[datetime.date], network: str = NETWORK) -> int:
    """Append the rows of a scenario's plans (one per target; the engagers of different plans are
    disjoint) to each day's extracted partition of the scenario's *copy* of the raw
    data. The rows go into ``part-0.parquet`` itself (rewritten atomically) rather than a file
    beside it: the dbt sources read exactly ``dt=*/part-0.parquet``, and the model's row
    accounting reconciles with that file. The partition's ``_manifest.json`` is updated to match,
    naming the injection as a source. Returns the number of events written."""
    scenarios = {plan.scenario for plan in plans}
    if len(scenarios) != 1:
        raise ValueError(f"write_injection: plans of one scenario expected, got {sorted(scenarios)}")
    scenario = scenarios.pop()
    engagers = [engager for plan in plans for engager in plan.engager_ids]
    if len(engagers) != len(set(engagers)):
        raise ValueError("write_injection: the plans share engagers; their event ids would collide")
    written = 0
    for day in days:
        events = pa.concat_tables([injected_events(plan, day, network) for plan in plans])
        _append_to_partition(partition_dir(raw_dir, network, "events", day), scenario, events)
        written += events.num_rows
        accounts = pa.concat_tables([injected_accounts(plan, day, network) for plan in plans])
        if accounts.num_rows:
            _append_to_partition(partition_dir(raw_dir, network, "accounts", day), scenario, accounts)
    return written


def _append_to_partition(partition: Path, scenario: str, injected: pa.Table) -> None:
    part = partition / PARQUET_FILE
    if not part.exists():
        raise InfluenceError(f"{partition}: no extracted {PARQUET_FILE} to inject into (extract the day first)")
    extracted = pq.read_table(part)
    if not extracted.schema.equals(injected.schema):
        raise InfluenceError(f"{part}: schema differs from extractors.schema, cannot append the injected rows")
    temporary = partition / f".{PARQUET_FILE}.inject-{scenario}.tmp"
    pq.write_table(pa.concat_tables([extracted, injected]), temporary, compression="zstd")
    os.replace(temporary, part)
    manifest_path = partition / MANIFEST_FILE
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        source = f"evaluation-injection-{scenario}"
        manifest["rows_read"] += injected.num_rows
        manifest["rows_written"] += injected.num_rows
        manifest["source_files"] = [*manifest.get("source_files", []), source]
        manifest.setdefault("source_sha256", {})[source] = hashlib.sha256(
            json.dumps(injected.to_pylist(), default=str).encode()
        ).hexdigest()
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------
# Builds: extract the week and run dbt day by day, in a scratch directory per scenario
# --------------------------------------------------------------------------------------------


def evaluation_root() -> Path:
    value = os.environ.get("INFLUENCE_EVALUATION_DIR")
    return Path(value).resolve() if value else PROJECT_ROOT / "data" / "evaluation"


def scenario_paths(root: Path, scenario: str, samples_dir: Path) -> Paths:
    return Paths.under(root / scenario, samples=samples_dir)


# Only source files count: logs and run artefacts that other runs write into the project tree
# must not invalidate the cached builds.
_SOURCE_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".py", ".json", ".md"})


def _tree_digest(digest: "hashlib._Hash", root: Path, skip_dirs: frozenset[str]) -> None:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in skip_dirs or part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix not in _SOURCE_SUFFIXES:
            continue
        digest.update(str(relative).encode())
        digest.update(path.read_bytes())


def build_fingerprint(samples_dir: Path) -> str:
    """What the clean build depends on: the dbt project, the extractors, the sample files."""
    digest = hashlib.sha256()
    _tree_digest(digest, DBT_PROJECT_DIR, frozenset({"target", "logs", "dbt_packages", "__pycache__"}))
    _tree_digest(digest, PROJECT_ROOT / "extractors", frozenset({"__pycache__"}))
    for source in SOURCES:
        for path in sorted((samples_dir / source).rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(samples_dir)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update(",".join(day.isoformat() for day in WEEK).encode())
    return digest.hexdigest()[:16]


def _stamp_path(scenario: Paths) -> Path:
    return scenario.runs / "evaluation-build.json"


def cached_build_is_current(scenario: Paths, fingerprint: str) -> bool:
    stamp = _stamp_path(scenario)
    if not stamp.exists() or not scenario.warehouse.exists():
        return False
    return json.loads(stamp.read_text()).get("fingerprint") == fingerprint


def _write_stamp(scenario: Paths, fingerprint: str, seconds: dict[str, float]) -> None:
    _stamp_path(scenario).parent.mkdir(parents=True, exist_ok=True)
    _stamp_path(scenario).write_text(json.dumps({"fingerprint": fingerprint, "dbt_seconds_per_day": seconds}, indent=2))


def build_seconds(scenario: Paths) -> dict[str, float]:
    stamp = _stamp_path(scenario)
    return json.loads(stamp.read_text()).get("dbt_seconds_per_day", {}) if stamp.exists() else {}


def extract_week(scenario: Paths, on_day: Callable[[datetime.date], None] = lambda day: None) -> None:
    """Extract every source for every day of the week into the scenario's raw directory."""
    from extractors import extract

    for day in WEEK:
        for source in SOURCES:
            extract(source, day, samples_dir=scenario.samples, raw_dir=scenario.raw, quarantine_dir=scenario.quarantine)
        on_day(day)


def build_week(scenario: Paths, fingerprint: str) -> None:
    """Build the week from scratch into an empty warehouse with the pipeline's own dbt steps
    (`influence.dbt.build_days`, as a backfill of the week: each day in order, then the history
    tests once), without the dbt unit tests (they do not depend on data; `make test` runs them)."""
    from influence.dbt import build_days

    if scenario.warehouse.exists():
        scenario.warehouse.unlink()
    stamp = _stamp_path(scenario)
    if stamp.exists():
        stamp.unlink()
    scenario.warehouse.parent.mkdir(parents=True, exist_ok=True)
    result = build_days(WEEK, scenario, scenario.runs / "dbt_week")
    _write_stamp(scenario, fingerprint, {day.isoformat(): round(seconds, 1) for day, seconds in result.day_seconds.items()})


def prepare_scenario_raw(clean: Paths, scenario: Paths, plans: Sequence[InjectionPlan]) -> int:
    """A copy of the clean raw partitions with the plans' rows added. Returns injected events."""
    for directory in (scenario.raw, scenario.quarantine):
        if directory.exists():
            shutil.rmtree(directory)
    shutil.copytree(clean.raw, scenario.raw, ignore=shutil.ignore_patterns(".*"))
    return write_injection(scenario.raw, plans, WEEK)


# --------------------------------------------------------------------------------------------
# Reading the marts of a built warehouse
# --------------------------------------------------------------------------------------------


class Warehouse:
    """Read-only view of one scenario's warehouse marts."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise InfluenceError(f"{path}: warehouse missing (the build did not run)")
        self.path = path
        self.con = duckdb.connect(str(path), read_only=True)

    def close(self) -> None:
        self.con.close()

    def columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute(
            "select column_name, data_type from information_schema.columns where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        return {name: data_type for name, data_type in rows}

    def require(self, table: str, *needed: str) -> dict[str, str]:
        columns = self.columns(table)
        if not columns:
            raise InfluenceError(f"{self.path}: table marts.{table} missing")
        missing = [column for column in needed if column not in columns]
        if missing:
            raise InfluenceError(f"{self.path}: marts.{table} lacks column(s) {', '.join(missing)}")
        return columns

    def person_scores(self, day: datetime.date | None = None) -> dict[str, np.ndarray]:
        """score_date, person_id, score, rank, tier of fct_person_scores (one day, or all days)."""
        self.require("fct_person_scores", "score_date", "person_id", "score", "rank", "tier")
        where = f"where score_date = date '{day.isoformat()}'" if day else ""
        return self.con.sql(
            f"select score_date, person_id, score, rank, tier from marts.fct_person_scores {where} order by score_date, rank, person_id"
        ).fetchnumpy()

    def account_scores(self, day: datetime.date, network: str = NETWORK) -> dict[str, float]:
        """account_id → the network score of that account on ``day`` (fct_network_scores)."""
        columns = self.require("fct_network_scores", "score")
        date_column = "score_date" if "score_date" in columns else _first_date_column(columns, "fct_network_scores")
        if "account_id" in columns and "network" in columns:
            key, where_network = "account_id", f"network = '{network}'"
        elif "account_key" in columns:
            key, where_network = f"substr(account_key, {len(network) + 2})", f"account_key like '{network}:%'"
        else:
            raise InfluenceError(f"{self.path}: marts.fct_network_scores has neither network+account_id nor account_key")
        rows = self.con.sql(
            f"select {key}, score from marts.fct_network_scores where {where_network} and {date_column} = date '{day.isoformat()}'"
        ).fetchall()
        return {str(account_id): float(score) for account_id, score in rows}

    def network_score_values(self, day: datetime.date) -> dict[str, np.ndarray]:
        """network → scores of every account scored on ``day``."""
        columns = self.require("fct_network_scores", "score")
        date_column = "score_date" if "score_date" in columns else _first_date_column(columns, "fct_network_scores")
        network_expr = "network" if "network" in columns else "split_part(account_key, ':', 1)"
        rows = self.con.sql(
            f"select {network_expr} as network, list(score) from marts.fct_network_scores where {date_column} = date '{day.isoformat()}' group by 1 order by 1"
        ).fetchall()
        return {network: np.asarray(scores, dtype=float) for network, scores in rows}

    def factor_column(self, *candidates: str) -> str | None:
        columns = self.columns("fct_account_factors")
        return next((name for name in candidates if name in columns), None)

    def numeric_factor_columns(self) -> list[str]:
        return [name for name, data_type in self.columns("fct_account_factors").items() if data_type.upper() == "DOUBLE"]

    def account_factor(self, column: str, day: datetime.date, network: str = NETWORK) -> dict[str, float]:
        columns = self.require("fct_account_factors", column)
        date_column = next((c for c in ("score_date", "factor_date", "activity_date", "day") if c in columns), None) or _first_date_column(columns, "fct_account_factors")
        if "account_id" in columns and "network" in columns:
            key, where_network = "account_id", f"network = '{network}'"
        else:
            key, where_network = f"substr(account_key, {len(network) + 2})", f"account_key like '{network}:%'"
        rows = self.con.sql(
            f"select {key}, {column} from marts.fct_account_factors where {where_network} and {date_column} = date '{day.isoformat()}'"
        ).fetchall()
        return {str(account_id): float(value) for account_id, value in rows if value is not None}


def _first_date_column(columns: dict[str, str], table: str) -> str:
    for name, data_type in columns.items():
        if data_type.upper() == "DATE":
            return name
    raise InfluenceError(f"marts.{table} has no DATE column to select a day by")


def person_id(account_id: str, network: str = NETWORK) -> str:
    return f"{network}:{account_id}"


# --------------------------------------------------------------------------------------------
# Analyses
# --------------------------------------------------------------------------------------------


def raw_events_sql(raw_dir: Path) -> str:
    return f"read_parquet('{events_glob(raw_dir)}', union_by_name = true)"


@dataclasses.dataclass
class MetricRow:
    predictor: str
    spearman: float
    ndcg: float


@dataclasses.dataclass
class OutcomeResult:
    outcome: str
    population: str
    accounts: int
    rows: list[MetricRow]

    def best_baseline(self, metric: str) -> MetricRow:
        baselines = [row for row in self.rows if row.predictor != MODEL_PREDICTOR and not math.isnan(getattr(row, metric))]
        return max(baselines, key=lambda row: getattr(row, metric))

    def model(self) -> MetricRow:
        return next(row for row in self.rows if row.predictor == MODEL_PREDICTOR)


@dataclasses.dataclass
class DateComparison:
    """Model vs the best single baseline, all accounts seen by ``as_of``, outcome as_of+1..end of week."""

    as_of: datetime.date
    outcome: str  # without its days: as_of+1..WEEK[-1]
    accounts: int
    model: MetricRow
    best_spearman: MetricRow
    best_ndcg: MetricRow


@dataclasses.dataclass
class PredictiveValidity:
    results: list[OutcomeResult]
    universe: int
    scored_by_model: int
    pagerank_iterations: int
    model_pagerank_column: str | None
    intervals: dict[tuple[str, str], tuple[float, float]]  # (outcome, metric) → CI of model - best
    # factor → (one row per outcome, Spearman with the model score), over the accounts engaged with
    factor_rows: list[tuple[str, list[MetricRow], float]]
    other_dates: list[DateComparison] = dataclasses.field(default_factory=list)


MODEL_PREDICTOR = "model score (fct_network_scores)"
OUTCOMES = {"distinct engagers 07-04..07": "distinct_engagers", "reshares received 07-04..07": "reshares_received"}


def _predictors_as_of(
    con: duckdb.DuckDBPyConnection, events: str, warehouse: Warehouse, as_of: datetime.date
) -> tuple[AccountSignals, AccountSignals, dict[str, np.ndarray], int]:
    """History (WEEK[0]..as_of), outcome (as_of+1..WEEK[-1]) aligned to the history universe, and the
    model score and single-count predictors as of ``as_of``. Returns (history, future, predictors,
    plain PageRank iterations)."""
    history_end = as_of + datetime.timedelta(days=1)
    history = account_signals(con, events, WEEK[0], history_end)
    universe = list(history.account_ids)
    future = account_signals(con, events, history_end, WEEK[-1] + datetime.timedelta(days=1), universe)
    ranks, iterations = plain_pagerank(con, events, WEEK[0], history_end, universe)
    model_by_account = warehouse.account_scores(as_of)
    # An account the model does not score ranks below every scored one (scores are >= 1).
    model = np.array([model_by_account.get(account_id, 0.0) for account_id in universe])
    predictors: dict[str, np.ndarray] = {
        MODEL_PREDICTOR: model,
        "distinct engagers to date": history.distinct_engagers,
        "reshares received to date": history.reshares_received,
        "mentions received to date": history.mentions_received,
        "PageRank alone (plain, power iteration)": ranks,
    }
    return history, future, predictors, iterations


def other_date_comparisons(clean: Paths, warehouse: Warehouse, dates: Sequence[datetime.date] = OTHER_PREDICTION_DATES) -> list[DateComparison]:
    """The headline comparison (all accounts seen so far) as of each of ``dates``."""
    con = duckdb.connect()
    events = raw_events_sql(clean.raw)
    comparisons = []
    for as_of in dates:
        _, future, predictors, _ = _predictors_as_of(con, events, warehouse, as_of)
        for outcome_label, outcome_field in OUTCOMES.items():
            outcome = getattr(future, outcome_field)
            rows = [MetricRow(name, spearman(values, outcome), ndcg_at_k(values, outcome, NDCG_K)) for name, values in predictors.items()]
            result = OutcomeResult(outcome_label, "all accounts seen so far", len(outcome), rows)
            # the outcome window is as_of+1..WEEK[-1], not the headline's: name the outcome without its days
            comparisons.append(DateComparison(as_of, outcome_field.replace("_", " "), len(outcome), result.model(), result.best_baseline("spearman"), result.best_baseline("ndcg")))
    con.close()
    return comparisons


def predictive_validity(clean: Paths, warehouse: Warehouse) -> PredictiveValidity:
    """Scores as of PREDICTION_DATE against engagement received on OUTCOME_DAYS."""
    con = duckdb.connect()
    events = raw_events_sql(clean.raw)
    history, future, predictors, iterations = _predictors_as_of(con, events, warehouse, PREDICTION_DATE)
    con.close()
    universe = list(history.account_ids)
    model = predictors[MODEL_PREDICTOR]
    pagerank_column = warehouse.factor_column("pagerank", "pagerank_score", "network_influence")
    if pagerank_column:
        factor = warehouse.account_factor(pagerank_column, PREDICTION_DATE)
        predictors[f"PageRank alone (model factor `{pagerank_column}`)"] = np.array([factor.get(a, 0.0) for a in universe])

    populations = {
        "all accounts seen by 07-03": np.ones(len(universe), dtype=bool),
        "accounts engaged with by 07-03": history.engagements_received > 0,
    }
    results = []
    intervals: dict[tuple[str, str], tuple[float, float]] = {}
    for outcome_label, outcome_field in OUTCOMES.items():
        outcome = getattr(future, outcome_field)
        for population_label, members in populations.items():
            rows = [
                MetricRow(name, spearman(values[members], outcome[members]), ndcg_at_k(values[members], outcome[members], NDCG_K))
                for name, values in predictors.items()
            ]
            result = OutcomeResult(outcome_label, population_label, int(members.sum()), rows)
            results.append(result)
            if population_label.startswith("all"):
                for metric, function in (("spearman", spearman), ("ndcg", lambda p, r: ndcg_at_k(p, r, NDCG_K))):
                    best = result.best_baseline(metric)
                    intervals[(outcome_label, metric)] = paired_bootstrap_difference(
                        function, model, predictors[best.predictor], outcome, resamples=BOOTSTRAP_RESAMPLES
                    )
    # Diagnostic: each numeric column of the model's factor table alone, over the accounts the
    # model scores (engaged with by then), and how closely the score follows it: shows which
    # factors carry the predictive signal and which dominate the score.
    engaged = populations["accounts engaged with by 07-03"]
    factor_rows = []
    for column in warehouse.numeric_factor_columns():
        factor = warehouse.account_factor(column, PREDICTION_DATE)
        values = np.array([factor.get(account_id, 0.0) for account_id in universe])[engaged]
        rows = [
            MetricRow(label, spearman(values, getattr(future, field)[engaged]), ndcg_at_k(values, getattr(future, field)[engaged], NDCG_K))
            for label, field in OUTCOMES.items()
        ]
        factor_rows.append((column, rows, spearman(values, model[engaged])))
    return PredictiveValidity(
        results, len(universe), int((model > 0).sum()), iterations, pagerank_column, intervals, factor_rows, other_date_comparisons(clean, warehouse)
    )


@dataclasses.dataclass
class TargetRun:
    """One target of the anti-gaming experiment and its score in each build."""

    label: str  # where its clean score sits among the candidate targets
    target_id: str
    clean_engagers: int
    ring_ids: tuple[str, ...]
    genuine_engager_ids: tuple[str, ...]
    scores: dict[str, list[float]]  # scenario → score per WEEK day (nan if unscored)
    ranks: dict[str, list[float]]

    def daily_uplift(self, scenario: str) -> list[float]:
        """Score minus clean score per day; a day the target is not scored counts as the floor
        (1.0): that is where an account without engagement sits, so being lifted into the ranking
        from nothing is uplift too."""
        return [_or_floor(s) - _or_floor(c) for s, c in zip(self.scores[scenario], self.scores["clean"], strict=True)]

    def uplift(self, scenario: str) -> float:
        return self.daily_uplift(scenario)[-1]

    def max_uplift(self, scenario: str) -> float:
        return max(self.daily_uplift(scenario))

    def lift_from_floor(self, scenario: str) -> float:
        """Largest uplift on a day the clean build does not score the target yet (it had no
        engagement): what the injection alone is worth. NaN if the target is scored every day."""
        lifts = [u for u, c in zip(self.daily_uplift(scenario), self.scores["clean"], strict=True) if math.isnan(c)]
        return max(lifts) if lifts else math.nan


SCORE_FLOOR = 1.0


def _or_floor(score: float) -> float:
    return SCORE_FLOOR if math.isnan(score) else score


@dataclasses.dataclass
class AntiGamingResult:
    targets: list[TargetRun]  # the first is the headline (median) target
    engagements_per_target: int
    ring_events: int
    genuine_events: int
    ring_member_scores: np.ndarray  # last day, every fake account
    genuine_engager_scores_clean: np.ndarray  # last day, clean build
    bystander_changes: dict[str, np.ndarray]  # scenario → |score - clean score| of uninvolved persons, last day

    @property
    def primary(self) -> TargetRun:
        return self.targets[0]

    def uplift(self, scenario: str) -> float:
        return self.primary.uplift(scenario)

    def worst_ring_uplift(self) -> float:
        return max(target.uplift("ring") for target in self.targets)

    def smallest_genuine_margin(self) -> float:
        return min(target.uplift("genuine") - target.uplift("ring") for target in self.targets)


TARGET_QUANTILES: dict[str, float] = {"median": 0.5, "lower quartile": 0.25, "upper quartile": 0.75}


def select_targets(raw_dir: Path, warehouse: Warehouse) -> list[tuple[str, str, int]]:
    """Real, modestly active accounts: engaged with by 5–20 distinct accounts over the week, active
    themselves, with headroom (clean score <= 60). One at each of TARGET_QUANTILES of the clean
    score among such accounts, median first. Returns (label, account id, distinct engagers)."""
    con = duckdb.connect()
    events = raw_events_sql(raw_dir)
    week = account_signals(con, events, WEEK[0], WEEK[-1] + datetime.timedelta(days=1))
    actors = {str(a) for a in con.sql(f"select distinct actor from ({clean_events_sql(events)})").fetchnumpy()["actor"]}
    con.close()
    last_day = {pid: score for pid, score in zip(*_scores_of(warehouse, WEEK[-1]), strict=True)}
    candidates = []
    for account_id, engagers in zip(week.account_ids, week.distinct_engagers, strict=True):
        score = last_day.get(person_id(account_id))
        if 5 <= engagers <= 20 and account_id in actors and score is not None and score <= 60:
            candidates.append((score, int(account_id) if account_id.isdigit() else account_id, account_id, int(engagers)))
    if len(candidates) < len(TARGET_QUANTILES):
        raise InfluenceError(f"anti-gaming: only {len(candidates)} accounts with 5–20 distinct engagers and a score <= 60 in the clean run")
    candidates.sort()
    return [
        (label, candidates[int(quantile * (len(candidates) - 1))][2], candidates[int(quantile * (len(candidates) - 1))][3])
        for label, quantile in TARGET_QUANTILES.items()
    ]


def select_genuine_engagers(raw_dir: Path, target_ids: Sequence[str], count: int = RING_SIZE) -> list[tuple[str, ...]]:
    """``count`` real accounts per target, disjoint, with genuine activity: acted on >= 3 days of
    the week, drew engagement from others, not indiscriminate (<= 100 actions), and neither a
    target nor already engaging any target. Drawn with a fixed seed, so the experiment is
    reproducible and not cherry-picked."""
    con = duckdb.connect()
    events = clean_events_sql(raw_events_sql(raw_dir))
    con.execute("create temp table targets as select unnest(?::varchar[]) as account_id", [list(target_ids)])
    rows = con.sql(
        f"""
        with acted as (
            select actor as account_id, count(distinct occurred_at::date) as active_days, count(*) as actions
            from ({events}) group by actor
        ), received as (select distinct target as account_id from ({events}))
        select acted.account_id from acted join received using (account_id)
        where active_days >= 3 and actions <= 100
          and acted.account_id not in (select account_id from targets)
          and acted.account_id not in (select actor from ({events}) where target in (select account_id from targets))
        order by acted.account_id
        """
    ).fetchall()
    con.close()
    pool = [str(row[0]) for row in rows]
    needed = count * len(target_ids)
    if len(pool) < needed:
        raise InfluenceError(f"anti-gaming: only {len(pool)} accounts qualify as genuine engagers, need {needed}")
    drawn = [pool[i] for i in np.random.default_rng(SELECTION_SEED).choice(len(pool), size=needed, replace=False)]
    return [tuple(sorted(drawn[i * count : (i + 1) * count])) for i in range(len(target_ids))]


def _scores_of(warehouse: Warehouse, day: datetime.date) -> tuple[list[str], list[float]]:
    scores = warehouse.person_scores(day)
    return [str(p) for p in scores["person_id"]], [float(s) for s in scores["score"]]


def target_trajectory(warehouse: Warehouse, account_id: str) -> tuple[list[float], list[float]]:
    rows = dict(
        (day, (score, rank))
        for day, score, rank in warehouse.con.execute(
            "select score_date, score, rank from marts.fct_person_scores where person_id = ?", [person_id(account_id)]
        ).fetchall()
    )
    scores = [float(rows[day][0]) if day in rows else math.nan for day in WEEK]
    ranks = [float(rows[day][1]) if day in rows else math.nan for day in WEEK]
    return scores, ranks


def bystander_changes(clean: Warehouse, scenario: Warehouse, involved: Iterable[str], day: datetime.date) -> np.ndarray:
    """|scenario score - clean score| on ``day`` of every person scored in both builds who took no
    part in the injection: how much a fake ring (or a burst of genuine engagement) moves everyone
    else, e.g. through the network-influence normalisation."""
    clean_scores = dict(zip(*_scores_of(clean, day), strict=True))
    excluded = {person_id(account_id) for account_id in involved}
    changes = [
        abs(score - clean_scores[pid])
        for pid, score in zip(*_scores_of(scenario, day), strict=True)
        if pid in clean_scores and pid not in excluded
    ]
    return np.asarray(changes, dtype=float)


def scores_of_accounts(warehouse: Warehouse, account_ids: Iterable[str], day: datetime.date) -> np.ndarray:
    wanted = [person_id(a) for a in account_ids]
    rows = warehouse.con.execute(
        "select score from marts.fct_person_scores where score_date = ? and list_contains(?, person_id)", [day, wanted]
    ).fetchall()
    return np.asarray([row[0] for row in rows], dtype=float)


@dataclasses.dataclass
class StabilityResult:
    table: list[tuple[str, int, float, float, float, float, float]]  # group, n, median, p90, p99, max, share > 1
    changes: dict[str, np.ndarray]
    new_persons: int


def stability(clean: Paths, warehouse: Warehouse) -> StabilityResult:
    """|score(D) - score(D-1)| for persons scored on both days, split by whether the person acted
    or was engaged with on D (raw events, self-interaction excluded)."""
    con = duckdb.connect()
    # to_arrow_table(): .arrow() is a one-shot reader in DuckDB 1.5 and the query reads it twice
    scores = warehouse.con.sql("select score_date, person_id, score from marts.fct_person_scores").to_arrow_table()
    con.register("scores", scores)
    events = raw_events_sql(clean.raw)
    rows = con.sql(
        f"""
        with active as (
            select distinct occurred_at::date as day, '{NETWORK}:' || account as person_id
            from (select occurred_at, actor_account_id as account from {events} where actor_account_id is distinct from target_account_id
                  union all
                  select occurred_at, target_account_id from {events} where actor_account_id is distinct from target_account_id)
            where account is not null
        ), paired as (
            select today.score_date, today.person_id, abs(today.score - yesterday.score) as change
            from scores today join scores yesterday
              on yesterday.person_id = today.person_id and yesterday.score_date = today.score_date - 1
        )
        select paired.change, active.person_id is not null as had_activity
        from paired left join active on active.day = paired.score_date and active.person_id = paired.person_id
        """
    ).fetchnumpy()
    new_persons = con.sql(
        """select count(*) from scores today where score_date > (select min(score_date) from scores)
           and not exists (select 1 from scores y where y.person_id = today.person_id and y.score_date = today.score_date - 1)"""
    ).fetchone()[0]
    con.close()
    change = np.asarray(rows["change"], dtype=float)
    active = np.asarray(rows["had_activity"], dtype=bool)
    groups = {"with new activity that day": change[active], "without new activity that day": change[~active]}
    table = []
    for label, values in groups.items():
        if len(values) == 0:
            table.append((label, 0, math.nan, math.nan, math.nan, math.nan, math.nan))
            continue
        median, p90, p99 = np.percentile(values, [50, 90, 99])
        table.append((label, len(values), float(median), float(p90), float(p99), float(values.max()), float((values > 1.0).mean())))
    return StabilityResult(table, groups, int(new_persons))


PERCENTILES = (10, 25, 50, 75, 90, 95, 99, 99.9)


@dataclasses.dataclass
class DistributionResult:
    day: datetime.date
    scores: dict[str, np.ndarray]  # "combined (persons)" and one entry per network

    def row(self, label: str) -> dict[str, float]:
        values = self.scores[label]
        summary = {f"p{p:g}": float(np.percentile(values, p)) for p in PERCENTILES}
        summary.update(
            n=len(values), max=float(values.max()), share_30=float((values >= 30).mean()),
            share_50=float((values >= 50).mean()), share_90=float((values >= 90).mean()),
        )  # fmt: skip
        return summary


def distribution(warehouse: Warehouse, day: datetime.date) -> DistributionResult:
    scores = {"combined (persons)": np.asarray(warehouse.person_scores(day)["score"], dtype=float)}
    for network, values in warehouse.network_score_values(day).items():
        scores[f"network {network}"] = values
    return DistributionResult(day, scores)


@dataclasses.dataclass
class TopPerson:
    rank: int
    person_id: str
    score: float
    tier: str
    change: float | None
    contributions: list[tuple[str, float]]
    top_events: str


def top_persons(warehouse: Warehouse, day: datetime.date, count: int = 20) -> list[TopPerson]:
    """Top ``count`` persons with their change explained by fct_score_changes."""
    scores = warehouse.person_scores(day)
    changes_columns = warehouse.columns("fct_score_changes")
    change_column = next((c for c in ("score_change", "change", "delta") if c in changes_columns), None)
    contribution_columns = [
        c for c, t in changes_columns.items()
        if ("contribution" in c or c.startswith("contrib_")) and _is_numeric(t)
    ]  # fmt: skip
    event_columns = [c for c, t in changes_columns.items() if "event" in c and not _is_numeric(t)]
    date_column = "score_date" if "score_date" in changes_columns else (_first_date_column(changes_columns, "fct_score_changes") if changes_columns else None)
    people = []
    for rank, pid, score, tier in list(zip(scores["rank"], scores["person_id"], scores["score"], scores["tier"], strict=True))[:count]:
        change, contributions, events = None, [], ""
        if changes_columns and date_column:
            selected = [change_column] if change_column else []
            selected += contribution_columns + event_columns
            row = warehouse.con.execute(
                f"select {', '.join(selected) or '1'} from marts.fct_score_changes where person_id = ? and {date_column} = ?", [str(pid), day]
            ).fetchone()
            if row is not None:
                values = dict(zip(selected, row, strict=True))
                change = float(values[change_column]) if change_column and values[change_column] is not None else None
                contributions = sorted(
                    ((c, float(values[c])) for c in contribution_columns if values[c] is not None), key=lambda item: -abs(item[1])
                )[:3]
                events = "; ".join(_describe(values[c]) for c in event_columns if values[c] is not None)
        people.append(TopPerson(int(rank), str(pid), float(score), str(tier), change, contributions, events))
    return people


def _is_numeric(data_type: str) -> bool:
    return data_type.upper() in {"DOUBLE", "FLOAT", "REAL", "DECIMAL", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT"} or data_type.upper().startswith("DECIMAL")


def _describe(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(_describe(item) for item in value[:3])
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# --------------------------------------------------------------------------------------------
# Plots and the report
# --------------------------------------------------------------------------------------------


def _pyplot():  # noqa: ANN202 - matplotlib's module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_predictive_validity(result: PredictiveValidity, path: Path) -> None:
    plt = _pyplot()
    headline = [r for r in result.results if r.population.startswith("all")]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for axis, metric, title in ((axes[0], "spearman", "Spearman"), (axes[1], "ndcg", f"NDCG@{NDCG_K}")):
        names = [row.predictor for row in headline[0].rows]
        height = 0.8 / len(headline)
        for i, outcome in enumerate(headline):
            values = [getattr(row, metric) for row in outcome.rows]
            positions = np.arange(len(names)) + i * height
            axis.barh(positions, values, height=height, label=outcome.outcome)
        axis.set_yticks(np.arange(len(names)) + height * (len(headline) - 1) / 2, names)
        axis.set_title(f"{title}: predictors as of {PREDICTION_DATE} vs outcome")
        axis.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()  # the axes share y: inverting once puts the model on top of both
    figure.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_anti_gaming(result: AntiGamingResult, path: Path) -> None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(9, 6))
    labels = [day.strftime("%m-%d") for day in WEEK]
    colours = {"clean": "k", "ring": "r", "genuine": "g"}
    for index, target in enumerate(result.targets):
        for scenario, colour in colours.items():
            axis.plot(
                labels, target.scores[scenario], color=colour, marker="os^"[index], linestyle=("-", "--", ":")[index],
                label=f"{scenario}, {target.label} ({_f(target.scores[scenario][-1], 1)})",
            )  # fmt: skip
    axis.set_title(f"Targets' scores by day: {result.engagements_per_target} injected engagements each")
    axis.set_ylabel("person score (1-100)")
    axis.set_xlabel("day (legend: build, target, score on the last day)")
    axis.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_stability(result: StabilityResult, path: Path) -> None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.5))
    upper = max((float(v.max()) for v in result.changes.values() if len(v)), default=1.0)
    bins = np.linspace(0, max(upper, 1.0), 60)
    for label, values in result.changes.items():
        if len(values):
            axis.hist(values, bins=bins, alpha=0.55, label=f"{label} (n={len(values):,})", density=True)
    axis.axvline(1.0, color="k", linestyle="--", linewidth=1, label="1 point")
    axis.set_yscale("log")
    axis.set_xlabel("|daily change| in points")
    axis.set_ylabel("density (log)")
    axis.set_title("Day-to-day |change| of person scores, Higgs 07-02..07")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_distribution(result: DistributionResult, path: Path) -> None:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.5))
    bins = np.linspace(1, 100, 100)
    combined = result.scores["combined (persons)"]
    duplicates = [label for label, values in result.scores.items() if label != "combined (persons)" and np.array_equal(np.sort(values), np.sort(combined))]
    for label, values in result.scores.items():
        if label in duplicates:
            continue  # identical to the combined curve (one network, no linked accounts): drawn once
        shown = " = ".join([label, *duplicates]) if label == "combined (persons)" else label
        axis.hist(values, bins=bins, histtype="step", linewidth=1.5, label=f"{shown} (n={len(values):,})")
    for threshold in (30, 50, 90):
        axis.axvline(threshold, color="grey", linestyle=":", linewidth=1)
    axis.set_yscale("log")
    axis.set_xlabel("score")
    axis.set_ylabel("persons / accounts (log)")
    axis.set_title(f"Score distribution on {result.day}")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _f(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.2f}%"


@dataclasses.dataclass
class Evaluation:
    validity: PredictiveValidity
    gaming: AntiGamingResult
    stable: StabilityResult
    spread: DistributionResult
    top: list[TopPerson]
    build_seconds: dict[str, dict[str, float]]
    fingerprint: str
    reused_builds: bool
    rebuilt: list[str]  # the builds this invocation ran (the others came from the cache)
    runtime_seconds: float


def headline_comparison(validity: PredictiveValidity, outcome: str, metric: str) -> tuple[MetricRow, MetricRow, OutcomeResult]:
    result = next(r for r in validity.results if r.outcome == outcome and r.population.startswith("all"))
    return result.model(), result.best_baseline(metric), result


def property_checks(evaluation: Evaluation) -> list[tuple[str, str, bool]]:
    """(requirement, what was measured, passed) for every requirement this evaluation can check."""
    checks = []
    for outcome in OUTCOMES:
        for metric, label in (("spearman", "Spearman"), ("ndcg", f"NDCG@{NDCG_K}")):
            model, best, _ = headline_comparison(evaluation.validity, outcome, metric)
            model_value, best_value = getattr(model, metric), getattr(best, metric)
            checks.append((
                f"model beats every single-count baseline: {label}, {outcome}, all accounts",
                f"model {model_value:.3f} vs best {best_value:.3f} ({best.predictor})",
                model_value > best_value,
            ))  # fmt: skip
    for target in evaluation.gaming.targets:
        ring, genuine = target.uplift("ring"), target.uplift("genuine")
        name = f"{target.label} target `twitter:{target.target_id}`"
        checks.append((f"property 4: a ring of {RING_SIZE} fake accounts raises the {name} by ≤ {MAX_RING_UPLIFT:.0f} points", f"{ring:+.2f}", ring <= MAX_RING_UPLIFT))
        checks.append((f"property 4: the same engagements from genuine accounts raise the {name} more", f"{genuine:+.2f} vs {ring:+.2f}", genuine > ring))
    inactive = next(row for row in evaluation.stable.table if row[0].startswith("without"))
    checks.append(("property 5: without new activity a score moves ≤ 1 point a day", f"max {_f(inactive[5], 3)} over {inactive[1]:,} person-days", inactive[1] > 0 and inactive[5] <= 1.0))
    combined = evaluation.spread.row("combined (persons)")
    checks.append(("property 8: median scored person between 10 and 25", f"{combined['p50']:.2f}", 10 <= combined["p50"] <= 25))
    checks.append(("property 8: 50+ (elite) is a few percent (1–5%)", _percent(combined["share_50"]), 0.01 <= combined["share_50"] <= 0.05))
    checks.append(("property 8: 90+ is very rare (≤ 0.1%)", _percent(combined["share_90"]), combined["share_90"] <= 0.001))
    return checks


def render_report(evaluation: Evaluation, plots: dict[str, Path], report_path: Path) -> str:
    validity, gaming, stable, spread = evaluation.validity, evaluation.gaming, evaluation.stable, evaluation.spread
    relative = lambda p: os.path.relpath(p, report_path.parent)  # noqa: E731
    lines: list[str] = []
    add = lines.append
    add("# Evaluation of the influence model on the real Higgs week")
    add("")
    add(f"Generated by `make evaluate` (`python -m influence.evaluate`) on "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, model_version `{MODEL_VERSION}`, build fingerprint "
        f"`{evaluation.fingerprint}` (dbt project + extractors + samples), runtime {evaluation.runtime_seconds:.0f} s "
        f"({'built this run: ' + ', '.join(evaluation.rebuilt) if evaluation.rebuilt else 'every build reused from the cache'})"
        + (" (**builds reused with `--reuse`: they may predate the current dbt project**)." if evaluation.reused_builds else "."))  # fmt: skip
    add("")
    add("## Headline figures")
    add("")
    for outcome in OUTCOMES:
        for metric, label in (("spearman", "Spearman"), ("ndcg", f"NDCG@{NDCG_K}")):
            model, best, _ = headline_comparison(validity, outcome, metric)
            model_value, best_value = getattr(model, metric), getattr(best, metric)
            low, high = validity.intervals.get((outcome, metric), (math.nan, math.nan))
            verdict = "beats it by" if model_value > best_value else "does NOT beat it: difference"
            add(f"- **{label}, outcome {outcome}:** model {_f(model_value)} vs best single baseline "
                f"{_f(best_value)} ({best.predictor}); the model {verdict} {model_value - best_value:+.3f} "
                f"(paired bootstrap 95% CI of the difference {low:+.3f} to {high:+.3f}).")  # fmt: skip
    ring, genuine = gaming.uplift("ring"), gaming.uplift("genuine")
    add(f"- **Anti-gaming (property 4):** a ring of {RING_SIZE} fake accounts raises the (median) target by "
        f"**{ring:+.2f}** points (limit {MAX_RING_UPLIFT:.0f}: {'PASS' if ring <= MAX_RING_UPLIFT else 'FAIL'}); the same "
        f"{gaming.engagements_per_target} engagements from {RING_SIZE} genuine accounts raise it by **{genuine:+.2f}** "
        f"points ({'larger: PASS' if genuine > ring else 'not larger: FAIL'}). Over all {len(gaming.targets)} targets: "
        f"largest ring uplift {gaming.worst_ring_uplift():+.2f}, smallest genuine-minus-ring margin "
        f"{gaming.smallest_genuine_margin():+.2f}.")  # fmt: skip
    combined = spread.row("combined (persons)")
    members = gaming.ring_member_scores
    if len(members):
        floor_lifts = [t.lift_from_floor("ring") for t in gaming.targets if not math.isnan(t.lift_from_floor("ring"))]
        add(f"- **Beyond property 4:** the {len(members)} fake ring accounts, which only engage each other and their "
            f"target, themselves score median {np.median(members):.2f} on {WEEK[-1]} (the median scored person: "
            f"{combined['p50']:.2f})"
            + (f"; on the days before a target's first genuine engagement the ring alone lifted it from the floor by up "
               f"to {max(floor_lifts):+.2f} points." if floor_lifts else "."))  # fmt: skip
    add(f"- **Scale on {spread.day}:** median score {combined['p50']:.2f}, share ≥ 30 {_percent(combined['share_30'])}, "
        f"share ≥ 50 {_percent(combined['share_50'])}, share ≥ 90 {_percent(combined['share_90'])} of "
        f"{combined['n']:,} scored persons.")  # fmt: skip
    inactive = next(row for row in stable.table if row[0].startswith("without"))
    add(f"- **Stability:** persons without new activity moved by a median {_f(inactive[2], 3)} points a day, "
        f"max {_f(inactive[5], 2)}; {_percent(inactive[6])} moved more than 1 point.")
    add("")
    add("### Requirement checks")
    add("")
    add("| requirement | measured | verdict |")
    add("|---|---|---|")
    for requirement, measured, passed in property_checks(evaluation):
        add(f"| {requirement} | {measured} | {'PASS' if passed else '**FAIL**'} |")
    add("")

    add("## Setup")
    add("")
    add(f"The Higgs sample (SNAP, Twitter, {WEEK[0]}..{WEEK[-1]}) is extracted with `extractors.extract` (with the "
        f"Stack Exchange partitions of the same days, empty, as the daily run writes them) into a scratch "
        f"directory (`data/evaluation/<scenario>/`, never the published data) and built with the pipeline's dbt "
        f"steps (`influence.dbt.build_days`: each day built in order with `--vars '{{run_date: D}}'`, then the "
        f"history tests once over the week, as a backfill of the week does), without Airflow and without the dbt unit "
        f"tests (they do not depend on data and run in `make test`). Three builds: "
        f"`clean`, `ring`, `genuine`; the two injected ones run side by side.")  # fmt: skip
    add("")
    add("| scenario | dbt seconds per day (its own build; the one parse and the history tests are shared) |")
    add("|---|---|")
    for scenario, seconds in evaluation.build_seconds.items():
        add(f"| {scenario} | {', '.join(f'{s:.0f}' for s in seconds.values()) or 'cached'} |")
    add("")

    add("## 1. Predictive validity")
    add("")
    add(f"Predictors are taken as of {PREDICTION_DATE} (the model's twitter network score that day, and single raw counts "
        f"over {WEEK[0]}..{PREDICTION_DATE}); the outcome is what each account receives on {OUTCOME_DAYS[0]}..{OUTCOME_DAYS[-1]}, "
        f"counted from the raw events (distinct engagers, and reshares). Engagement = reshare, reply, mention; "
        f"self-interactions and duplicated event ids removed. Universe: the {validity.universe:,} accounts seen (acting or "
        f"engaged with) by {PREDICTION_DATE}; {validity.scored_by_model:,} of them have a model score that day (an unscored "
        f"account ranks below every scored one). Spearman uses average ranks for ties; NDCG@{NDCG_K} uses linear gains "
        f"(the outcome count) and tie-aware DCG (tied predictions share their mean gain), so a count baseline is not "
        f"helped or hurt by an arbitrary tie-break. Plain PageRank: damping 0.85 on the engagement graph (edge actor → "
        f"target weighted by engagements), converged in {validity.pagerank_iterations} iterations (L1 < 1e-10).")  # fmt: skip
    if validity.model_pagerank_column is None:
        add("")
        add("The model's factor table exposes no PageRank column, so only the plain PageRank baseline is shown.")
    add("")
    for result in validity.results:
        add(f"**Outcome: {result.outcome}; population: {result.population} (n = {result.accounts:,})**")
        add("")
        add(f"| predictor | Spearman | NDCG@{NDCG_K} |")
        add("|---|---|---|")
        best_spearman = max(r.spearman for r in result.rows if not math.isnan(r.spearman))
        best_ndcg = max(r.ndcg for r in result.rows if not math.isnan(r.ndcg))
        for row in result.rows:
            s = f"**{_f(row.spearman)}**" if row.spearman == best_spearman else _f(row.spearman)
            n = f"**{_f(row.ndcg)}**" if row.ndcg == best_ndcg else _f(row.ndcg)
            add(f"| {row.predictor} | {s} | {n} |")
        add("")
    add(f"![predictive validity]({relative(plots['validity'])})")
    add("")
    if validity.factor_rows:
        engaged = next(r.accounts for r in validity.results if not r.population.startswith("all"))
        add(f"**Diagnostic: each column of the model's factor table (`fct_account_factors`, {PREDICTION_DATE}) alone**, over "
            f"the {engaged:,} accounts engaged with by then (the ones the model scores), and its Spearman correlation with "
            f"the model score: which factors predict, and which drive the score.")  # fmt: skip
        add("")
        add("| factor column | " + " | ".join(f"Spearman, {o} | NDCG@{NDCG_K}, {o}" for o in OUTCOMES) + " | Spearman with the model score |")
        add("|---|" + "---|---|" * len(OUTCOMES) + "---|")
        for column, rows, with_model in validity.factor_rows:
            add(f"| `{column}` | " + " | ".join(f"{_f(row.spearman)} | {_f(row.ndcg)}" for row in rows) + f" | {_f(with_model)} |")
        add("")
    if validity.other_dates:
        add(f"**The same comparison as of other days** (all accounts seen by then; outcome: what each receives from the next "
            f"day to {WEEK[-1]}; no bootstrap). Not a requirement check: it shows whether a difference on {PREDICTION_DATE} "
            f"holds on other splits of the week.")  # fmt: skip
        add("")
        add(f"| as of | outcome | accounts | model Spearman | best baseline Spearman | difference | model NDCG@{NDCG_K} | best baseline NDCG@{NDCG_K} | difference |")
        add("|---|---|---|---|---|---|---|---|---|")
        for c in validity.other_dates:
            add(f"| {c.as_of} | {c.outcome} | {c.accounts:,} | {_f(c.model.spearman)} | {_f(c.best_spearman.spearman)} "
                f"({c.best_spearman.predictor}) | {c.model.spearman - c.best_spearman.spearman:+.4f} | {_f(c.model.ndcg)} | "
                f"{_f(c.best_ndcg.ndcg)} ({c.best_ndcg.predictor}) | {c.model.ndcg - c.best_ndcg.ndcg:+.4f} |")  # fmt: skip
        add("")

    add("## 2. Anti-gaming experiment (property 4)")
    add("")
    add(f"Targets: {len(gaming.targets)} real accounts, each engaged with by 5–20 distinct accounts during the week, active "
        f"themselves and with a clean score ≤ 60 (room to rise): the ones at the median, lower and upper quartile of the clean "
        f"score among such accounts. The headline uses the median target. Injected rows are appended to a copy of the "
        f"extracted raw partition of every day {WEEK[0]}..{WEEK[-1]} (`part-0.parquet`, the file the dbt sources read; its "
        f"manifest updated to name the injection), then each scenario is rebuilt from an empty warehouse:")  # fmt: skip
    add("")
    add(f"- **ring**: per target, {RING_SIZE} new accounts (ids from {RING_ID_START}); every day each reshares and "
        f"mentions its target once and every other member of its ring once ({gaming.ring_events:,} events in all, "
        f"{gaming.engagements_per_target} of them engaging each target).")  # fmt: skip
    add(f"- **genuine**: per target, {RING_SIZE} different real accounts drawn with seed {SELECTION_SEED} among accounts "
        f"that acted on ≥ 3 days, drew engagement from others, made ≤ 100 actions and never engaged a target; every day "
        f"each reshares and mentions its target once ({gaming.genuine_events:,} events: the same "
        f"{gaming.engagements_per_target} engagements of each target, at the same times).")  # fmt: skip
    add("")
    add("| target | distinct engagers in the week (clean) | clean score | ring score | genuine score | ring uplift | genuine uplift | largest daily ring uplift | ring lift from the floor (days before genuine engagement) | clean rank → ring / genuine rank |")
    add("|---|---|---|---|---|---|---|---|---|---|")
    for target in gaming.targets:
        add(f"| {target.label} `twitter:{target.target_id}` | {target.clean_engagers} | {_f(target.scores['clean'][-1], 2)} | "
            f"{_f(target.scores['ring'][-1], 2)} | {_f(target.scores['genuine'][-1], 2)} | **{target.uplift('ring'):+.2f}** | "
            f"**{target.uplift('genuine'):+.2f}** | {target.max_uplift('ring'):+.2f} | {_f(target.lift_from_floor('ring'), 2)} | "
            f"{_f(target.ranks['clean'][-1], 0)} → "
            f"{_f(target.ranks['ring'][-1], 0)} / {_f(target.ranks['genuine'][-1], 0)} |")  # fmt: skip
    add("")
    primary = gaming.primary
    add(f"Day by day, median target `twitter:{primary.target_id}`:")
    add("")
    add("| day | clean score | ring score | genuine score | ring uplift | genuine uplift | clean rank | ring rank | genuine rank |")
    add("|---|---|---|---|---|---|---|---|---|")
    ring_uplift, genuine_uplift = primary.daily_uplift("ring"), primary.daily_uplift("genuine")
    for i, day in enumerate(WEEK):
        c, r, g = primary.scores["clean"][i], primary.scores["ring"][i], primary.scores["genuine"][i]
        add(f"| {day} | {_f(c, 2)} | {_f(r, 2)} | {_f(g, 2)} | {ring_uplift[i]:+.2f} | {genuine_uplift[i]:+.2f} | "
            f"{_f(primary.ranks['clean'][i], 0)} | {_f(primary.ranks['ring'][i], 0)} | {_f(primary.ranks['genuine'][i], 0)} |")  # fmt: skip
    add("")
    add(f"(n/a: not scored that day, i.e. no engagement received yet; uplifts count such a day as the floor, {SCORE_FLOOR:.0f}.)")
    add("")
    members = gaming.ring_member_scores
    if len(members):
        add(f"The {len(members)} fake ring accounts themselves score median {np.median(members):.2f}, max "
            f"{members.max():.2f} on {WEEK[-1]}. The genuine engagers' own clean scores: median "
            f"{np.median(gaming.genuine_engager_scores_clean):.2f}.")  # fmt: skip
    for scenario, changes in gaming.bystander_changes.items():
        if len(changes):
            add(f"Bystanders in the {scenario} build (the {len(changes):,} persons scored on {WEEK[-1]} who took no part): "
                f"|score change| vs clean median {np.median(changes):.4f}, p99 {np.percentile(changes, 99):.4f}, "
                f"max {changes.max():.4f}; {_percent(float((changes > 0.5).mean()))} moved more than 0.5 points.")  # fmt: skip
    add("")
    add(f"![anti-gaming]({relative(plots['gaming'])})")
    add("")

    add("## 3. Stability")
    add("")
    add(f"|score(D) − score(D−1)| for every person scored on both days, {WEEK[1]}..{WEEK[-1]}, split by whether the person "
        f"acted or was engaged with on D (raw events). {stable.new_persons:,} person-days are a first appearance and are not "
        f"counted.")  # fmt: skip
    add("")
    add("| group | person-days | median | p90 | p99 | max | share > 1 point |")
    add("|---|---|---|---|---|---|---|")
    for label, n, median, p90, p99, largest, share in stable.table:
        add(f"| {label} | {n:,} | {_f(median)} | {_f(p90)} | {_f(p99)} | {_f(largest)} | {_percent(share)} |")
    add("")
    add(f"![stability]({relative(plots['stability'])})")
    add("")

    add("## 4. Score distribution")
    add("")
    add(f"On {spread.day}, the last day of the clean build (per network: fct_network_scores; combined: fct_person_scores). "
        f"The evaluation week is Higgs only, so the only network is twitter and, with no linked accounts there, the "
        f"combined person scores equal the twitter scores; Stack Exchange (other years) is scored by `make run`, whose "
        f"published `fct_score_percentiles` holds its percentiles per network.")  # fmt: skip
    add("")
    header = " | ".join(f"p{p:g}" for p in PERCENTILES)
    add(f"| scores | n | {header} | max | ≥ 30 | ≥ 50 | ≥ 90 |")
    add("|---|" + "---|" * (len(PERCENTILES) + 5))
    for label in spread.scores:
        row = spread.row(label)
        cells = " | ".join(f"{row[f'p{p:g}']:.2f}" for p in PERCENTILES)
        add(f"| {label} | {row['n']:,} | {cells} | {row['max']:.2f} | {_percent(row['share_30'])} | "
            f"{_percent(row['share_50'])} | {_percent(row['share_90'])} |")  # fmt: skip
    add("")
    add(f"![score distribution]({relative(plots['distribution'])})")
    add("")

    add(f"## 5. Top {len(evaluation.top)} on {spread.day}, with explanations")
    add("")
    add("Change and largest factor contributions from `fct_score_changes` (the contributions sum to the change).")
    add("")
    add("| rank | person | score | tier | change | largest contributions | top events |")
    add("|---|---|---|---|---|---|---|")
    for person in evaluation.top:
        contributions = ", ".join(f"{name} {value:+.2f}" for name, value in person.contributions) or "n/a"
        events = person.top_events.replace("|", "/") or "n/a"
        add(f"| {person.rank} | `{person.person_id}` | {person.score:.2f} | {person.tier} | {_f(person.change, 2)} | "
            f"{contributions} | {events} |")  # fmt: skip
    add("")
    add("## Reproduce")
    add("")
    add("`make evaluate` (or `.venv/bin/python -m influence.evaluate [--fresh]`). The clean build is cached under its "
        "fingerprint in `data/evaluation/clean/`; `--fresh` rebuilds everything.")  # fmt: skip
    add("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def run(fresh: bool = False, reuse: bool = False, report_path: Path = REPORT_PATH, plots_dir: Path = PLOTS_DIR) -> Evaluation:
    """Build what is stale (everything with ``fresh``; nothing with ``reuse``), analyse, write the report."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    started = time.monotonic()
    root = evaluation_root()
    samples = paths().samples
    fingerprint = build_fingerprint(samples)
    clean = scenario_paths(root, "clean", samples)
    seconds: dict[str, dict[str, float]] = {}
    rebuilt: list[str] = []

    columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        if reuse:
            if not clean.warehouse.exists():
                raise InfluenceError(f"--reuse: no clean build at {clean.warehouse}; run without --reuse first")
            console.print(f"reusing the builds in {root} without checking their fingerprint (--reuse)")
        elif fresh or not cached_build_is_current(clean, fingerprint):
            for directory in (clean.raw, clean.quarantine, clean.warehouse.parent):
                if directory.exists():
                    shutil.rmtree(directory)
            task = progress.add_task("extract Higgs week (clean)", total=len(WEEK))
            extract_week(clean, lambda day: progress.advance(task))
            task = progress.add_task("dbt build clean (7 days, one process)", total=1)
            build_week(clean, fingerprint)
            progress.advance(task)
            rebuilt.append("clean")
        else:
            console.print(f"clean build is current (fingerprint {fingerprint}): reusing {clean.warehouse}")
        seconds["clean"] = build_seconds(clean)

        clean_warehouse = Warehouse(clean.warehouse)
        targets = select_targets(clean.raw, clean_warehouse)
        target_ids = [target_id for _, target_id, _ in targets]
        genuine_groups = select_genuine_engagers(clean.raw, target_ids)
        plans: dict[str, list[InjectionPlan]] = {
            "ring": [ring_plan(target_id, first_id=RING_ID_START + i * RING_SIZE) for i, target_id in enumerate(target_ids)],
            "genuine": [genuine_plan(target_id, group) for target_id, group in zip(target_ids, genuine_groups, strict=True)],
        }
        injected: dict[str, int] = {}
        jobs: dict[str, tuple[Paths, str]] = {}
        for scenario, scenario_plans in plans.items():
            scenario_dir = scenario_paths(root, scenario, samples)
            plan_fingerprints = ":".join(plan.fingerprint() for plan in scenario_plans)
            scenario_fingerprint = hashlib.sha256(f"{fingerprint}:{plan_fingerprints}:{INJECTION_FORMAT}".encode()).hexdigest()[:16]
            injected[scenario] = sum(injected_events(plan, day).num_rows for plan in scenario_plans for day in WEEK)
            if reuse:
                if not scenario_dir.warehouse.exists():
                    raise InfluenceError(f"--reuse: no {scenario} build at {scenario_dir.warehouse}; run without --reuse first")
            elif fresh or not cached_build_is_current(scenario_dir, scenario_fingerprint):
                jobs[scenario] = (scenario_dir, scenario_fingerprint)
            else:
                console.print(f"{scenario} build is current (fingerprint {scenario_fingerprint}): reusing it")

        def rebuild(scenario: str) -> None:
            scenario_dir, scenario_fingerprint = jobs[scenario]
            prepare_scenario_raw(clean, scenario_dir, plans[scenario])
            task = progress.add_task(f"dbt build {scenario} (injected)", total=1)
            build_week(scenario_dir, scenario_fingerprint)
            progress.advance(task)

        # The two injected builds are independent: one per core.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(rebuild, scenario) for scenario in jobs]:
                future.result()

        task = progress.add_task("analyse and write the report", total=5)
        warehouses = {"clean": clean_warehouse}
        for scenario in plans:
            scenario_dir = scenario_paths(root, scenario, samples)
            seconds[scenario] = build_seconds(scenario_dir)
            warehouses[scenario] = Warehouse(scenario_dir.warehouse)
        validity = predictive_validity(clean, clean_warehouse)
        progress.advance(task)
        target_runs = []
        for index, (label, target_id, engagers) in enumerate(targets):
            trajectories = {scenario: target_trajectory(warehouse, target_id) for scenario, warehouse in warehouses.items()}
            target_runs.append(TargetRun(
                label=label, target_id=target_id, clean_engagers=engagers,
                ring_ids=plans["ring"][index].engager_ids, genuine_engager_ids=plans["genuine"][index].engager_ids,
                scores={scenario: trajectory[0] for scenario, trajectory in trajectories.items()},
                ranks={scenario: trajectory[1] for scenario, trajectory in trajectories.items()},
            ))  # fmt: skip
        involved = {scenario: {*target_ids, *(e for plan in plans[scenario] for e in plan.engager_ids)} for scenario in plans}
        gaming = AntiGamingResult(
            targets=target_runs,
            engagements_per_target=2 * RING_SIZE * len(WEEK),
            ring_events=injected["ring"],
            genuine_events=injected["genuine"],
            ring_member_scores=scores_of_accounts(warehouses["ring"], [e for plan in plans["ring"] for e in plan.engager_ids], WEEK[-1]),
            genuine_engager_scores_clean=scores_of_accounts(clean_warehouse, [e for plan in plans["genuine"] for e in plan.engager_ids], WEEK[-1]),
            bystander_changes={
                scenario: bystander_changes(clean_warehouse, warehouses[scenario], involved[scenario], WEEK[-1]) for scenario in plans
            },
        )
        progress.advance(task)
        stable = stability(clean, clean_warehouse)
        progress.advance(task)
        spread = distribution(clean_warehouse, WEEK[-1])
        top = top_persons(clean_warehouse, WEEK[-1])
        progress.advance(task)
        for warehouse in warehouses.values():
            warehouse.close()

        plots_dir.mkdir(parents=True, exist_ok=True)
        plots = {
            "validity": plots_dir / "predictive_validity.png",
            "gaming": plots_dir / "anti_gaming.png",
            "stability": plots_dir / "stability.png",
            "distribution": plots_dir / "score_distribution.png",
        }
        plot_predictive_validity(validity, plots["validity"])
        plot_anti_gaming(gaming, plots["gaming"])
        plot_stability(stable, plots["stability"])
        plot_distribution(spread, plots["distribution"])
        rebuilt += list(jobs)
        evaluation = Evaluation(validity, gaming, stable, spread, top, seconds, fingerprint, reuse, rebuilt, time.monotonic() - started)
        report_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = report_path.with_name(f".{report_path.name}.tmp")
        temporary.write_text(render_report(evaluation, plots, report_path))
        os.replace(temporary, report_path)
        progress.advance(task)
    return evaluation


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m influence.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="rebuild every scenario even if a cached build is current")
    parser.add_argument(
        "--reuse", action="store_true", help="rewrite the report from the existing scratch builds even if the dbt project changed since"
    )
    parser.add_argument("--report", type=Path, default=REPORT_PATH, help=f"report path (default {REPORT_PATH.relative_to(PROJECT_ROOT)})")
    arguments = parser.parse_args(argv)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        if arguments.fresh and arguments.reuse:
            raise InfluenceError("--fresh and --reuse contradict each other")
        evaluation = run(fresh=arguments.fresh, reuse=arguments.reuse, report_path=arguments.report.resolve(), plots_dir=arguments.report.resolve().parent / "evaluation")
    except InfluenceError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 1
    print(f"wrote {arguments.report} in {evaluation.runtime_seconds:.0f} s")
    for outcome in OUTCOMES:
        for metric in ("spearman", "ndcg"):
            model, best, _ = headline_comparison(evaluation.validity, outcome, metric)
            print(f"  {outcome:<28} {metric:<8} model {getattr(model, metric):.3f}  best baseline {getattr(best, metric):.3f} ({best.predictor})")
    for target in evaluation.gaming.targets:
        print(f"  {target.label} target twitter:{target.target_id}: ring uplift {target.uplift('ring'):+.2f}  genuine uplift {target.uplift('genuine'):+.2f}")
    combined = evaluation.spread.row("combined (persons)")
    print(f"  median score {combined['p50']:.2f}  share >= 50 {100 * combined['share_50']:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
