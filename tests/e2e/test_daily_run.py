"""End to end through the real DAG (`influence run` → Airflow `dag.test` → extract, GX, dbt, GX,
publish) on real sample days, into temporary data directories, then faults and reruns.

The normal runs call the CLI in this process (Airflow's in-process execution API then starts once
for the whole module); runs that get killed or race each other are child processes, as a user
starts them. Fault runs start from a copy of the data directory as it was after the first day,
so no day is computed more often than needed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from influence.settings import PROJECT_ROOT
from published import assert_same_marts, published_marts

pytestmark = pytest.mark.slow

INFLUENCE = Path(sys.executable).parent / "influence"
HIGGS_DAYS = ("2012-07-01", "2012-07-02")
SE_DAYS = ("2018-09-01",)
RUN_TIMEOUT_S = 600


def environment(data_dir: Path, airflow_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUENCE_", "AIRFLOW"))}
    env.update(
        INFLUENCE_DATA_DIR=str(data_dir),
        INFLUENCE_SAMPLES_DIR=str(PROJECT_ROOT / "data" / "samples"),
        AIRFLOW_HOME=str(airflow_home),
        GX_ANALYTICS_ENABLED="false",
        INFLUENCE_LOCK_TIMEOUT_SECONDS="60",
    )
    return env


def influence(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(INFLUENCE), *arguments], env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)


def run_ok(env: dict[str, str], *arguments: str) -> str:
    done = influence(env, "run", *arguments)
    assert done.returncode == 0, f"influence run {' '.join(arguments)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def daily_rows(data_dir: Path, days: tuple[str, ...]) -> dict[str, list[tuple]]:
    """The published rows of the given days in every mart that has a day column."""
    rows = {}
    with duckdb.connect(str(data_dir / "published" / "influence.duckdb"), read_only=True) as connection:
        for table, column in connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE column_name IN ('score_date', 'activity_date') ORDER BY 1"
        ).fetchall():
            rows[table] = connection.execute(
                f'SELECT * FROM "{table}" WHERE CAST({column} AS VARCHAR) IN ({", ".join("?" for _ in days)}) ORDER BY ALL',
                list(days),
            ).fetchall()
    return rows


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """For the child processes: one Airflow home, migrated by the first run that needs it."""
    return tmp_path_factory.mktemp("airflow")


def run_in_process(*arguments: str) -> None:
    from influence import cli

    assert cli.main(["run", *arguments]) == 0, f"influence run {' '.join(arguments)} failed"


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory: pytest.TempPathFactory, airflow_home: Path) -> dict[str, object]:
    """Higgs day 1, (copy of the data dir), Higgs day 2, then a Stack Exchange day."""
    root = tmp_path_factory.mktemp("e2e")
    data_dir = root / "data"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment(data_dir, airflow_home).items():
            if name.startswith("INFLUENCE_"):
                patch.setenv(name, value)
        run_in_process("--start", HIGGS_DAYS[0], "--end", HIGGS_DAYS[0])
        after_day_1 = root / "after_day_1"
        shutil.copytree(data_dir, after_day_1, symlinks=True)
        marts_after_day_1 = published_marts(data_dir)
        run_in_process("--start", HIGGS_DAYS[1], "--end", HIGGS_DAYS[1])
        marts_after_day_2 = published_marts(data_dir)
        run_in_process("--start", SE_DAYS[0], "--end", SE_DAYS[-1], "--source", "stackexchange")
    return {
        "data_dir": data_dir, "env": environment(data_dir, airflow_home), "after_day_1": after_day_1,
        "marts_after_day_1": marts_after_day_1, "marts_after_day_2": marts_after_day_2,
    }


def test_published_scores_are_valid_for_every_day(pipeline_runs: dict[str, object]) -> None:
    data_dir = pipeline_runs["data_dir"]
    with duckdb.connect(str(data_dir / "published" / "influence.duckdb"), read_only=True) as connection:
        days = [str(d) for (d,) in connection.execute("SELECT DISTINCT score_date FROM fct_person_scores ORDER BY 1").fetchall()]
        assert days == [*HIGGS_DAYS, *SE_DAYS]
        low, high, rows, keys = connection.execute(
            "SELECT min(score), max(score), count(*), count(DISTINCT (score_date, person_id)) FROM fct_person_scores"
        ).fetchone()
        assert 1.0 <= low <= high <= 100.0
        assert rows == keys, "one row per person and day"
        # Ranks: 1 is the best of each day, and a better rank never has a lower score.
        first_ranks = connection.execute("SELECT DISTINCT min(rank) OVER (PARTITION BY score_date) FROM fct_person_scores").fetchall()
        assert first_ranks == [(1,)]
        inversions = connection.execute(
            "SELECT count(*) FROM (SELECT score, lag(score) OVER (PARTITION BY score_date ORDER BY rank, person_id) AS better "
            "FROM fct_person_scores) WHERE better < score"
        ).fetchone()[0]
        assert inversions == 0
        persons_by_source = dict(connection.execute(
            "SELECT split_part(person_id, ':', 1), count(DISTINCT person_id) FROM fct_person_scores GROUP BY 1"
        ).fetchall())
        assert persons_by_source.get("twitter", 0) > 1000
        # quantumcomputing and conlang are small sites: a few dozen active people a day.
        assert persons_by_source.get("stackexchange", 0) >= 10
        audit = connection.execute("SELECT day, status, persons_scored FROM run_audit ORDER BY finished_at").fetchall()
    assert [(str(day), status) for day, status, _ in audit] == [(d, "published") for d in (*HIGGS_DAYS, *SE_DAYS)]
    assert all(persons and persons > 0 for _, _, persons in audit)
    # The Parquet mirror holds the same marts.
    parquet = data_dir / "published" / "parquet" / "fct_person_scores"
    assert sorted(p.name for p in parquet.iterdir()) == [f"{d}.parquet" for d in (*HIGGS_DAYS, *SE_DAYS)]
    assert duckdb.sql(f"SELECT count(*) FROM '{parquet}/*.parquet'").fetchone()[0] == rows


def test_status_lists_the_runs(pipeline_runs: dict[str, object]) -> None:
    runs = len(HIGGS_DAYS) + len(SE_DAYS)
    done = influence(pipeline_runs["env"], "status", "-n", str(runs))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("published ") == runs
    assert SE_DAYS[-1] in done.stdout
    # Each run links the documentation it generated: dbt docs of the warehouse it built (a static
    # page with the manifest and the catalog embedded) and the GX Data Docs of both check stages.
    dbt_docs = pipeline_runs["data_dir"] / "runs" / "dbt_docs" / SE_DAYS[-1] / "index.html"
    assert f"dbt docs: {dbt_docs}" in done.stdout
    page = dbt_docs.read_text(encoding="utf-8")
    assert "fct_person_scores" in page and "int_pagerank" in page
    assert "GX data docs (raw checks)" in done.stdout and "GX data docs (marts checks)" in done.stdout


def test_rerunning_a_day_publishes_identical_rows(pipeline_runs: dict[str, object]) -> None:
    before = published_marts(pipeline_runs["data_dir"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INFLUENCE_DATA_DIR", str(pipeline_runs["data_dir"]))
        run_in_process("--start", SE_DAYS[-1], "--end", SE_DAYS[-1], "--source", "stackexchange")
    assert_same_marts(published_marts(pipeline_runs["data_dir"]), before)


def test_late_events_for_an_earlier_day_update_that_day_and_the_next_when_reprocessed(
    pipeline_runs: dict[str, object], tmp_path: Path
) -> None:
    """Thirty retweets of a new account arrive late for 2012-07-01 (appended to the Higgs file, out
    of time order). Reprocessing from that day on picks them up on that day, carries them into the
    next day's decayed window, and leaves the days not reprocessed exactly as they were."""
    import gzip

    samples = tmp_path / "samples"
    (samples / "higgs").mkdir(parents=True)
    (samples / "stackexchange").symlink_to(PROJECT_ROOT / "data" / "samples" / "stackexchange")
    late_author = "987654321"
    noon_july_1 = 1341144000  # 2012-07-01 12:00:00 UTC
    original = (PROJECT_ROOT / "data" / "samples" / "higgs" / "higgs-activity_time.txt.gz").read_bytes()
    late_lines = "".join(f"{900000000 + i} {late_author} {noon_july_1 + i} RT\n" for i in range(30))
    (samples / "higgs" / "higgs-activity_time.txt.gz").write_bytes(
        gzip.compress(gzip.decompress(original) + late_lines.encode()))
    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_runs["data_dir"], data_dir, symlinks=True)
    before = published_marts(data_dir)
    se_days_before = daily_rows(data_dir, SE_DAYS)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INFLUENCE_DATA_DIR", str(data_dir))
        patch.setenv("INFLUENCE_SAMPLES_DIR", str(samples))
        run_in_process("--start", HIGGS_DAYS[0], "--end", HIGGS_DAYS[1], "--source", "higgs")
    after = published_marts(data_dir)
    assert after.keys() == before.keys()

    with duckdb.connect(str(data_dir / "published" / "influence.duckdb"), read_only=True) as connection:
        late_scores = dict(connection.execute(
            "SELECT score_date::VARCHAR, score FROM fct_person_scores WHERE person_id = ?", [f"twitter:{late_author}"]
        ).fetchall())
        raw_events = connection.execute(
            "SELECT day::VARCHAR, raw_events_by_network['twitter'] FROM run_audit WHERE status = 'published' "
            "AND day = DATE '2012-07-01' ORDER BY finished_at"
        ).fetchall()
    assert set(late_scores) == set(HIGGS_DAYS), "scored on the late day and, decayed, on the next"
    assert all(1.0 <= score <= 100.0 for score in late_scores.values())
    assert raw_events[-1][1] == raw_events[0][1] + 30
    assert daily_rows(data_dir, SE_DAYS) == se_days_before, "days not reprocessed stay exactly as published"
    assert before["fct_person_scores"] != after["fct_person_scores"]


def _kill_when(env: dict[str, str], day: str, moment: Callable[[], bool], settle_s: float) -> None:
    """Start `influence run` for a day, SIGKILL its whole process group (dbt included) at `moment`."""
    process = subprocess.Popen([str(INFLUENCE), "run", "--start", day, "--end", day], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not moment():
            assert process.poll() is None, "the run ended before the moment to kill it came"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(settle_s)
        assert process.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _lock_holder_stage(data_dir: Path) -> str | None:
    try:
        return json.loads((data_dir / "warehouse" / "influence.duckdb.lock").read_text() or "{}").get("stage")
    except (OSError, json.JSONDecodeError):
        return None


def test_killed_runs_leave_the_published_marts_untouched_and_a_run_finding_the_warehouse_busy_waits_or_stops(
    pipeline_runs: dict[str, object], airflow_home: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Two runs of day 2 are killed (during dbt build, then half-way through the publish); then,
    while another run holds the warehouse (here: this test, through the same lock a run takes), a
    run with a 1 s lock timeout stops with the one-line busy message, and a run with the default
    wait waits, says so, and publishes exactly what the uninterrupted day 2 published, clearing the
    killed publish's leftovers. (One test, not two: each started from day 1 and ended with a full
    run of day 2, the file's costliest step.)"""
    from influence import cli, pipeline
    from influence.settings import paths

    data_dir = tmp_path / "data"
    shutil.copytree(pipeline_runs["after_day_1"], data_dir, symlinks=True)
    env = environment(data_dir, airflow_home)
    published = data_dir / "published"

    # SIGKILL two seconds into dbt build (dbt, a child process, dies with the process group) ...
    _kill_when(env, HIGGS_DAYS[1], lambda: _lock_holder_stage(data_dir) == "dbt_build", settle_s=2.0)
    assert published_marts(data_dir) == pipeline_runs["marts_after_day_1"]  # untouched: exactly equal
    # ... and the next attempt while the new published version is being written.
    def unfinished_versions() -> list[Path]:
        return [v for v in published.glob("versions/*") if not (v / "_SUCCESS").exists()]

    _kill_when(env, HIGGS_DAYS[1], lambda: bool(unfinished_versions()), settle_s=0.0)
    assert unfinished_versions(), "the publish was killed half-way"
    assert published_marts(data_dir) == pipeline_runs["marts_after_day_1"]  # untouched: exactly equal

    logs = data_dir / "runs" / "logs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INFLUENCE_DATA_DIR", str(data_dir))
        patch.setenv("INFLUENCE_LOCK_TIMEOUT_SECONDS", "1")
        with pipeline.warehouse_lock(paths(), "other-run", "dbt_build"):
            waiting = subprocess.Popen([str(INFLUENCE), "run", "--start", HIGGS_DAYS[1], "--end", HIGGS_DAYS[1]],
                                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            capfd.readouterr()
            impatient_exit = cli.main(["run", "--start", "2012-07-03", "--end", "2012-07-03"])
            impatient = capfd.readouterr()
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while not any("waiting for the warehouse lock" in log.read_text(errors="replace") for log in logs.glob("*.log")):
                assert waiting.poll() is None, waiting.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.2)
    out, err = waiting.communicate(timeout=RUN_TIMEOUT_S)
    assert waiting.returncode == 0, out + err

    assert impatient_exit == 1
    failure = [line for line in impatient.out.splitlines() if line.startswith("✗")]
    assert len(failure) == 1, impatient.out
    assert "failed at dbt_build" in failure[0] and "busy, run other-run (dbt_build, pid" in failure[0]
    assert_same_marts(published_marts(data_dir), pipeline_runs["marts_after_day_2"])
    assert not unfinished_versions() and not list(published.glob(".publishing-*")), \
        "the run after them removed the killed publish's leftovers"
