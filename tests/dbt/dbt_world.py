"""Helpers for tests/dbt: build the dbt project on crafted or sliced raw partitions into a temporary DuckDB file.

Each test world owns a raw directory and a warehouse file; `build(day)` builds that day exactly as
the pipeline does (influence.dbt.build_days, in the dbt worker this test process shares), and
`query` reads the result. `dbt_build(day, ...)` is the plain `dbt build` command a user would type,
for what the pipeline never does (--full-refresh, the unit tests, another project)."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import extract
from extractors.schema import SCHEMAS
from influence import dbt
from influence.errors import DbtBuildError
from influence.settings import DBT_PROJECT_DIR, MODEL_VERSION, PROJECT_ROOT, Paths

DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")

# Every dbt source glob must match once a day was extracted (docs/architecture.md): a crafted world
# writes (possibly empty) partitions of all three entities for one network of each source.
DEFAULT_NETWORKS = ("twitter", "se_quantumcomputing")
UTC = datetime.UTC
SAMPLES = PROJECT_ROOT / "data" / "samples"
JULY = [datetime.date(2012, 7, day) for day in range(1, 8)]  # the bundled Higgs week


def at(day: datetime.date, seconds: int = 0) -> datetime.datetime:
    """A UTC timestamp `seconds` into `day`."""
    return datetime.datetime.combine(day, datetime.time(), tzinfo=UTC) + datetime.timedelta(seconds=seconds)


@dataclass
class Events:
    """Rows of one raw `events` partition, built up by the helpers below."""

    network: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event_type: str, actor: str | None, target: str | None, when: datetime.datetime, *,
            target_post: str | None = None, post: str | None = None) -> None:
        event_id = f"{event_type}:{actor}:{target}:{target_post}:{post}:{int(when.timestamp())}:{len(self.rows)}"
        self.rows.append({
            "network": self.network, "event_id": event_id, "event_type": event_type,
            "actor_account_id": actor, "target_account_id": target, "target_post_id": target_post,
            "post_id": post, "occurred_at": when, "source_file": "crafted", "source_line": len(self.rows) + 1,
        })

    def reshares(self, actors: Iterable[str], target: str, day: datetime.date, start_second: int = 3600) -> None:
        for offset, actor in enumerate(actors):
            self.add("reshare", actor, target, at(day, start_second + 60 * offset))


def write_partition(raw_dir: Path, network: str, entity: str, day: datetime.date,
                    rows: list[dict[str, Any]]) -> None:
    directory = raw_dir / network / entity / f"dt={day.isoformat()}"
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=SCHEMAS[entity])
    pq.write_table(table, directory / "part-0.parquet")


def extract_days(world: DbtWorld, days: list[datetime.date]) -> None:
    """The bundled real sample of `days`, through the real extractors, into the world's raw dir."""
    for day in days:
        for source in ("higgs", "stackexchange"):
            extract(source, day, samples_dir=SAMPLES, raw_dir=world.raw, quarantine_dir=world.root / "quarantine")


@dataclass
class DbtWorld:
    root: Path
    project_dir: Path = DBT_PROJECT_DIR

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def write_day(self, day: datetime.date, events: Iterable[Events] = (), *,
                  accounts: dict[str, list[dict[str, Any]]] | None = None,
                  links: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """All entities of every default network (plus those given) for `day`."""
        by_network = {batch.network: batch.rows for batch in events}
        for network in sorted(set(DEFAULT_NETWORKS) | set(by_network) | set(accounts or {}) | set(links or {})):
            write_partition(self.raw, network, "events", day, by_network.get(network, []))
            write_partition(self.raw, network, "accounts", day, (accounts or {}).get(network, []))
            write_partition(self.raw, network, "identity_links", day, (links or {}).get(network, []))

    @property
    def dbt_log(self) -> Path:
        """dbt's debug log of the builds of `build` and `build_range`."""
        return self.root / "runs" / "build" / "dbt_logs" / "dbt.log"

    def build_range(self, days: list[datetime.date], *, gate: dbt.DayGate | None = None,
                    on_day_built: Callable[[datetime.date], None] | None = None, **extra_vars: Any) -> None:
        """All `days` in one build, as a backfill builds them (influence.dbt.build_days): one parse
        instead of one per day, and the same rows as a build per day (tests/e2e/test_backfill.py).
        Raises AssertionError naming the first failing node."""
        assert self.project_dir == DBT_PROJECT_DIR, "the pipeline builds its own project: use dbt_build"
        paths = replace(Paths.under(self.root, samples=SAMPLES), warehouse=self.warehouse)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("INFLUENCE_DUCKDB_MEMORY_LIMIT", "2GB")  # two test workers share the machine
            try:
                dbt.build_days(days, paths, paths.runs / "build", extra_vars, gate, on_day_built)
            except DbtBuildError as error:
                raise AssertionError(str(error)) from error

    def build(self, day: datetime.date, **extra_vars: Any) -> None:
        """`day` as a daily run builds it (seed, build, the day's tests, docs)."""
        self.build_range([day], **extra_vars)

    def dbt_build(self, day: datetime.date, *flags: str, **extra_vars: Any) -> None:
        """`dbt build --vars '{run_date: day, ...}' [flags]` in a child process; raises
        AssertionError naming the failing nodes. dbt's results land in `<root>/target`, its log in
        `<root>/logs`."""
        env = {**os.environ, "INFLUENCE_RAW_DIR": str(self.raw), "INFLUENCE_WAREHOUSE": str(self.warehouse),
               "INFLUENCE_DUCKDB_MEMORY_LIMIT": "2GB", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        completed = subprocess.run(
            [str(DBT_EXECUTABLE), "build", "--project-dir", str(self.project_dir),
             "--profiles-dir", str(self.project_dir), "--target-path", str(self.root / "target"),
             "--log-path", str(self.root / "logs"), "--vars", json.dumps({"run_date": day.isoformat(), **extra_vars}),
             *flags],
            env=env, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            failures = [line for line in completed.stdout.splitlines() if "ERROR" in line or "FAIL" in line]
            raise AssertionError(f"dbt build {day} failed: {failures or completed.stdout[-2000:]}")

    def test(self, *selection: str, **dbt_vars: Any) -> subprocess.CompletedProcess[str]:
        """`dbt test` of the built warehouse (e.g. the history tests over several days, with
        `run_date` and `test_start_date` in `dbt_vars`); the caller checks the outcome."""
        env = {**os.environ, "INFLUENCE_RAW_DIR": str(self.raw), "INFLUENCE_WAREHOUSE": str(self.warehouse),
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        return subprocess.run(
            [str(DBT_EXECUTABLE), "test", "--project-dir", str(self.project_dir),
             "--profiles-dir", str(self.project_dir), "--target-path", str(self.root / "target"),
             "--log-path", str(self.root / "logs"), "--vars", json.dumps(dbt_vars), *selection],
            env=env, capture_output=True, text=True, check=False)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as connection:
            return connection.execute(sql, list(params)).fetchall()

    def scalar(self, sql: str, *params: Any) -> Any:
        rows = self.query(sql, *params)
        assert len(rows) == 1, f"expected one row from {sql!r} {params}, got {rows}"
        return rows[0][0]

    def person_score(self, day: datetime.date, person_id: str, model_version: str = MODEL_VERSION) -> float | None:
        rows = self.query(
            "select score from marts.fct_person_scores where score_date = ? and person_id = ? and model_version = ?",
            day, person_id, model_version)
        return rows[0][0] if rows else None
