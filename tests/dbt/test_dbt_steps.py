"""How `influence.dbt` splits a build into steps: each day builds every model with the tests of
the one-day tables, and the history tests run once over all the days. Together they must be
every data test of the project, each exactly once; a test in neither would silently never run.
And the incremental models keep their history whatever dbt is asked."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from dbt_world import SAMPLES, DbtWorld
from test_model_properties import D0, DAY, write_world

from influence import dbt
from influence.errors import QualityGateError
from influence.settings import DBT_PROJECT_DIR, Paths


@pytest.fixture(scope="module")
def first_day_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crafted world with its first day built, for the tests that build the days after it."""
    world = DbtWorld(tmp_path_factory.mktemp("first_day"))
    write_world(world)
    world.build(D0)
    return world.root


def copy_of(built: Path, root: Path) -> DbtWorld:
    """A world of its own at `root`, starting from the built one."""
    shutil.copytree(built, root)
    return DbtWorld(root)


# What the tests below list with `dbt ls`: (output, selection) by name.
LISTINGS = {
    "data_tests": ("name", ["--resource-type", "test", "--exclude", dbt.UNIT_TESTS]),
    "models": ("name", ["--resource-type", "model"]),
    "day_step": ("name", dbt.DAY_SELECTION),
    "history_step": ("name", dbt.HISTORY_SELECTION),
    "incremental_models": ("json", ["--resource-type", "model", "--select", "config.materialized:incremental"]),
}

# One child process parses the project once and runs every `dbt ls` on that manifest: a `dbt ls`
# command per listing imported dbt and parsed the project five times (about 7 s each).
LIST_SCRIPT = """
import json, sys
from dbt.cli.main import dbtRunner
common, listings = json.loads(sys.argv[1]), json.loads(sys.argv[2])
parsed = dbtRunner().invoke(["parse", *common])
assert parsed.success, parsed.exception
runner = dbtRunner(manifest=parsed.result)
found = {}
for name, (output, selection) in listings.items():
    listed = runner.invoke(["ls", *common, "--output", output, *selection])
    assert listed.success, (name, listed.exception)
    found[name] = list(listed.result)
# the models a range builds on its first day only, compiled for two days far apart
found["same_every_day"] = []
for day in ("2020-03-02", "2021-07-15"):
    compiled = runner.invoke(["compile", *common, "--select", "tag:same_every_day", "--indirect-selection", "empty", "--vars", json.dumps({"run_date": day})])
    assert compiled.success, compiled.exception
    found["same_every_day"].append({result.node.name: result.node.compiled_code for result in compiled.result.results})
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def dbt_listings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`dbt ls` of the project for each of LISTINGS: node names, or one JSON document per node; and
    under "same_every_day" the compiled SQL of those models for two days."""
    root = tmp_path_factory.mktemp("dbt_ls")
    environment = {**os.environ, "INFLUENCE_RAW_DIR": str(root / "raw"), "INFLUENCE_WAREHOUSE": str(root / "w.duckdb"),
                   "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    common = ["--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
              "--target-path", str(root / "target"), "--log-path", str(root / "logs")]
    completed = subprocess.run([sys.executable, "-c", LIST_SCRIPT, json.dumps(common), json.dumps(LISTINGS)],
                               env=environment, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.splitlines()[-1])


def test_day_and_history_steps_run_every_data_test_exactly_once(dbt_listings: dict[str, list[str]]) -> None:
    every_data_test, models = dbt_listings["data_tests"], dbt_listings["models"]
    day_step, history_step = dbt_listings["day_step"], dbt_listings["history_step"]
    assert len(every_data_test) > 50 and len(models) > 20

    day_tests = [name for name in day_step if name not in models]
    assert sorted(set(day_step) & set(models)) == sorted(models), "each day builds every model"
    assert not set(day_tests) & set(history_step)
    assert sorted(day_tests + history_step) == sorted(every_data_test)
    # the staging views hold one day: their tests belong to the day step
    assert any("stg_higgs__events" in name for name in day_tests)
    assert not any("stg_" in name for name in history_step)
    assert any("fct_person_scores" in name for name in history_step)


def test_the_models_a_range_builds_once_do_not_depend_on_the_run_date(dbt_listings: dict[str, Any]) -> None:
    """A range builds the models tagged same_every_day on its first day only: their SQL must be the
    same whatever the day (influence.dbt._unchanged_nodes)."""
    first, second = dbt_listings["same_every_day"]
    assert set(first) == {"int_model_parameters", "int_factor_weights", "int_events_unioned", "int_events_cleaned"}
    assert first == second


def test_a_killed_dbt_process_is_retried_not_failed_for_good(tmp_path: Path, monkeypatch) -> None:
    """The kernel's OOM killer ends the child with SIGKILL: that says nothing about the day's data,
    so it must not become an InfluenceError (which a DAG task turns into a final failure)."""
    from influence.errors import DbtProcessKilledError, InfluenceError
    from influence.orchestration import call

    killed_child = tmp_path / "python"
    killed_child.write_text("#!/bin/sh\nkill -KILL $$\n")
    killed_child.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(killed_child))

    with pytest.raises(DbtProcessKilledError, match="SIGKILL") as raised:
        call(dbt._run_in_worker, [], {}, tmp_path / "dbt_output.log")
    assert not isinstance(raised.value, InfluenceError)


def test_a_worker_that_fails_before_it_opens_the_log_gives_a_one_line_error(tmp_path: Path, monkeypatch) -> None:
    """A dbt worker that cannot start (a broken environment) never writes the build's log: the
    build reports its exit code, not a traceback about the missing log."""
    broken_child = tmp_path / "python"
    broken_child.write_text("#!/bin/sh\nexit 1\n")
    broken_child.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(broken_child))

    assert dbt._run_in_worker([], {}, tmp_path / "dbt_output.log") == "exit code 1"


@pytest.mark.slow
def test_the_builds_of_a_process_share_one_dbt_worker_that_lets_go_of_the_warehouse(
        first_day_built: Path, tmp_path: Path) -> None:
    """`influence run` over several days builds each day from the same process: it starts a worker
    before its first build, which parses the project ahead, every build uses that worker (dbt
    already imported, the project warm), the warehouse can be opened read-only in between (as the
    mart checks do), and a worker that died is replaced."""
    import duckdb

    world = copy_of(first_day_built, tmp_path / "world")
    shutil.rmtree(world.root / "runs" / "dbt_target")  # a new data directory: nothing parsed yet
    dbt._stop_idle_workers()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INFLUENCE_DUCKDB_MEMORY_LIMIT", "2GB")  # as DbtWorld builds: the same profile
        dbt.start_worker(replace(Paths.under(world.root, samples=SAMPLES), warehouse=world.warehouse))
    dbt.start_worker()  # a second run in the same process keeps the idle one
    [started] = dbt._idle_workers
    world.build_range([D0 + DAY])
    [worker] = dbt._idle_workers
    assert worker is started
    assert "Nothing changed, skipping partial parsing" in world.dbt_log.read_text(), "the build parsed again"
    with duckdb.connect(str(world.warehouse), read_only=True) as connection:
        assert connection.execute("select count(distinct score_date) from marts.fct_person_scores").fetchone()[0] == 2
    world.build_range([D0 + 2 * DAY])
    assert [idle.process.pid for idle in dbt._idle_workers] == [worker.process.pid]
    assert world.scalar("select count(distinct score_date) from marts.fct_person_scores") == 3
    # the build's dbt output went to its own log: the seed, build and test steps of that build alone
    assert (world.root / "runs" / "build" / "dbt_output.log").read_text().count("Completed successfully") == 3

    worker.process.kill()
    worker.process.wait()
    replacement = dbt._take_worker()
    assert replacement.usable() and replacement.process.pid != worker.process.pid
    replacement.stop()


@pytest.mark.slow
def test_a_range_skips_only_the_staging_models_that_stay_empty(first_day_built: Path, tmp_path: Path) -> None:
    """A source with no raw partition stages zero rows. In a range, a staging model whose source had
    none on the previous day either is empty already: the day's build skips it and its own tests,
    as it skips the models that are the same every day. The first day of a range still rebuilds
    them all, emptying what the day before the range left."""
    world = copy_of(first_day_built, tmp_path / "world")
    later = [D0 + DAY, D0 + 2 * DAY]
    for day in later:  # Twitter stops after the first day; the crafted world never had synthetic data
        shutil.rmtree(world.raw / "twitter" / "events" / f"dt={day.isoformat()}")
    assert world.scalar("select count(*) from staging.stg_higgs__events") > 0  # the first day's rows

    world.build_range(later)
    merged = json.loads((world.root / "runs" / "build" / "run_results.json").read_text())
    builds = {step["day"]: step for step in merged["steps"] if step["step"] == "build"}
    built = {day: {r["unique_id"].split(".")[2] for r in merged["results"] if r["step"] == "build" and r["day"] == day}
             for day in builds}
    first, second = (day.isoformat() for day in later)
    assert builds[first]["skipped_unchanged"] == []
    assert {"stg_higgs__events", "not_null_stg_higgs__events_event_id", "stg_synthetic__events"} <= built[first]
    skipped = set(builds[second]["skipped_unchanged"])
    assert {"stg_higgs__events", "not_null_stg_higgs__events_event_id", "stg_synthetic__events",
            "stg_synthetic__identity_links"} <= skipped
    assert {"int_model_parameters", "int_events_unioned"} <= skipped and any("int_model_parameters" in name
                                                                            for name in skipped - {"int_model_parameters"})
    assert not any("stackexchange" in name for name in skipped), "Stack Exchange has partitions every day"
    assert skipped.isdisjoint(built[second]) and skipped <= built[first]
    assert world.scalar("select count(*) from staging.stg_higgs__events") == 0
    assert world.scalar("select count(*) from staging.stg_stackexchange__accounts") > 0


def test_a_gated_range_builds_a_day_only_once_let_through_and_reports_each_day_built(
        first_day_built: Path, tmp_path: Path) -> None:
    """A backfill's build waits before each day for its raw checks (influence.pipeline); when a day
    is refused, the build stops before it and the refusal is what the caller gets."""
    world = copy_of(first_day_built, tmp_path / "world")
    allowed, refused = D0 + DAY, D0 + 2 * DAY
    asked: list[datetime.date] = []
    built: list[datetime.date] = []

    def gate(day: datetime.date, timeout: float) -> bool:
        asked.append(day)
        if day == refused:
            raise QualityGateError(f"raw checks for {day} failed: raw_twitter_events: read partition")
        return True

    with pytest.raises(QualityGateError, match=f"raw checks for {refused} failed"):
        world.build_range([allowed, refused], gate=gate, on_day_built=built.append)
    assert asked == [allowed, refused] and built == [allowed]
    merged = json.loads((world.root / "runs" / "build" / "run_results.json").read_text())
    assert [step["day"] for step in merged["steps"] if step["step"] == "build"] == [allowed.isoformat()]
    assert merged["stopped"]["before_day"] == refused.isoformat()
    assert world.scalar("select max(score_date) from marts.fct_person_scores") == allowed
    [worker] = dbt._idle_workers  # it answered, so it stays for the next build
    assert worker.usable()


def test_every_incremental_model_stops_on_a_schema_change_and_is_never_fully_refreshed(
        dbt_listings: dict[str, list[str]]) -> None:
    """dbt's default for an incremental model whose columns changed is to insert only the persisted
    table's columns, dropping the new ones without a word; the state tables must stop instead. And
    `dbt build --full-refresh` would rebuild the score history and the decayed state from one day
    (test_a_full_refresh_keeps_the_history_and_the_state builds with the flag)."""
    incremental = [json.loads(line) for line in dbt_listings["incremental_models"]]
    assert len(incremental) >= 10
    configs = {model["name"]: (model["config"]["on_schema_change"], model["config"]["full_refresh"])
               for model in incremental}
    assert configs == {name: ("fail", False) for name in configs}


HISTORY = {
    "marts.fct_person_scores": "select * from marts.fct_person_scores order by all",
    "marts.fct_score_changes": "select * from marts.fct_score_changes order by all",
    "intermediate.int_edge_state": "select * from intermediate.int_edge_state order by all",
    "intermediate.int_account_numbers": "select * from intermediate.int_account_numbers order by all",
    "intermediate.int_engagement_pairs_daily": "select * from intermediate.int_engagement_pairs_daily order by all",
}


@pytest.mark.slow
def test_a_full_refresh_keeps_the_history_and_the_state(first_day_built: Path, tmp_path: Path) -> None:
    """`dbt build --full-refresh` of the next day builds it on top of what is kept, exactly as a
    plain build does: the first day's published scores, its graph and the account numbers stay."""
    plain = copy_of(first_day_built, tmp_path / "plain")
    refreshed = copy_of(first_day_built, tmp_path / "refreshed")
    refreshed.dbt_build(D0 + DAY, "--exclude", "test_type:unit", "--full-refresh")
    plain.build(D0 + DAY)
    assert refreshed.scalar("select count(*) from marts.fct_person_scores where score_date = ?", D0) >= 10
    for table, query in HISTORY.items():
        assert refreshed.query(query) == plain.query(query), table


def _not_null_columns(world: DbtWorld) -> set[tuple[str, str]]:
    return set(world.query("select table_name, column_name from information_schema.columns "
                           "where table_schema = 'marts' and is_nullable = 'NO'"))


@pytest.mark.slow
def test_a_warehouse_built_before_the_not_null_constraints_gets_them_on_its_next_build(
        first_day_built: Path, tmp_path: Path) -> None:
    """The marts' NOT NULL columns are contract constraints (they replaced not_null data tests).
    dbt writes them only when it creates a table, and an incremental one is never recreated: the
    marts' pre-hook adds them to the tables of an older warehouse, and from then on DuckDB refuses
    a null on every write."""
    import duckdb

    world = copy_of(first_day_built, tmp_path / "world")
    declared = _not_null_columns(world)
    assert {("fct_person_scores", "score"), ("fct_account_factors", "account_key"), ("dim_accounts", "person_id"),
            ("fct_score_percentiles", "scope")} <= declared
    with duckdb.connect(str(world.warehouse)) as connection:  # the tables as a build before the change left them
        for table, column in declared:
            connection.execute(f'alter table marts."{table}" alter column "{column}" drop not null')
    assert not _not_null_columns(world)

    world.build(D0 + DAY)
    assert _not_null_columns(world) == declared
    assert "marts.fct_person_scores: adding the contract's NOT NULL to score (one-off)" in world.dbt_log.read_text().replace('"', "")
    with duckdb.connect(str(world.warehouse)) as connection, pytest.raises(duckdb.ConstraintException, match="score"):
        connection.execute("insert into marts.fct_person_scores (score_date, person_id, score, rank, model_version) "
                           "values (?, 'twitter:someone', null, 1, 'x')", [D0 + DAY])
