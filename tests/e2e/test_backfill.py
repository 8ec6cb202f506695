"""The influence_backfill DAG end to end (`influence backfill` → Airflow `dag.test` of one run for
a range → the `*_days` pipeline steps) on real Stack Exchange days: it publishes exactly what one
daily run per day publishes, and a failing range publishes nothing and records every day."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from published import assert_same_marts, published_marts

from influence import cli
from influence.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

# two days: the second builds on the first's state, which is what a range must carry over the same
# way a daily run does (the fixture took 166.0 and 171.7 s in CI with three days, 134.5 s with two)
FIRST, LAST = "2018-08-28", "2018-08-29"
DAYS = [(dt.date(2018, 8, 28) + dt.timedelta(days=offset)).isoformat() for offset in range(2)]
SAMPLES = PROJECT_ROOT / "data" / "samples"


def run_in_process(command: str, data_dir: Path, *arguments: str,
                   ranges: tuple[tuple[str, str], ...] = ((FIRST, LAST),), samples: Path = SAMPLES) -> int:
    days = [argument for start, end in ranges for argument in ("--start", start, "--end", end)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INFLUENCE_DATA_DIR", str(data_dir))
        patch.setenv("INFLUENCE_SAMPLES_DIR", str(samples))
        return cli.main([command, *days, "--source", "stackexchange", *arguments])


@pytest.fixture(scope="module")
def daily_and_backfill(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("backfill")
    # the daily side as two one-day ranges of one `influence run` (as `make run` gives its samples)
    assert run_in_process("run", root / "daily", ranges=((FIRST, FIRST), (LAST, LAST))) == 0
    assert run_in_process("backfill", root / "backfill") == 0
    return root / "daily", root / "backfill"


def test_a_backfill_publishes_exactly_what_daily_runs_publish(daily_and_backfill: tuple[Path, Path]) -> None:
    daily, backfill = daily_and_backfill
    marts = published_marts(backfill)
    assert marts["fct_person_scores"], "nothing published"
    assert_same_marts(marts, published_marts(daily))
    parquet = {p.name for p in (backfill / "published" / "parquet" / "fct_person_scores").iterdir()}
    assert parquet == {f"{day}.parquet" for day in DAYS}


def test_a_backfill_audits_every_day_in_one_run(daily_and_backfill: tuple[Path, Path]) -> None:
    _, backfill = daily_and_backfill
    with duckdb.connect(str(backfill / "published" / "influence.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "SELECT CAST(day AS VARCHAR), status, run_id, persons_scored, checks_passed, stage_seconds, data_docs "
            "FROM run_audit ORDER BY day").fetchall()
    assert [(day, status) for day, status, *_ in rows] == [(day, "published") for day in DAYS]
    assert len({run_id for _, _, run_id, *_ in rows}) == 1, "one Airflow run for the range"
    for day, _, _, persons, checks, stage_seconds, docs in rows:
        assert persons > 0 and checks > 100, day
        assert set(stage_seconds) == {"extract-stackexchange", "validate_raw", "dbt_build", "validate_marts", "publish"}, day
        assert all(Path(page).is_file() for page in docs), day
        assert any(f"gx_data_docs/{day}/raw" in page for page in docs), day
    # the history tests ran once, over every day of the range (not once per day over the first)
    compiled = backfill / "runs" / "dbt_target" / "run" / "influence" / "tests" / "assert_person_score_not_below_its_accounts.sql"
    assert f"between date '{FIRST}' and date '{LAST}'" in compiled.read_text()


def test_a_failing_backfill_publishes_nothing_and_records_every_day(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    samples = tmp_path / "samples"
    site = samples / "stackexchange" / "quantumcomputing"
    site.mkdir(parents=True)
    (samples / "higgs").symlink_to(SAMPLES / "higgs")
    (samples / "stackexchange" / "conlang").symlink_to(SAMPLES / "stackexchange" / "conlang")
    for dump in ("Comments", "Users", "Votes"):
        (site / f"{dump}.xml.gz").symlink_to(SAMPLES / "stackexchange" / "quantumcomputing" / f"{dump}.xml.gz")
    bad_posts = PROJECT_ROOT / "tests" / "bad_inputs" / "stackexchange" / "posts_truncated_gzip" / "Posts.xml.gz"
    (site / "Posts.xml.gz").symlink_to(bad_posts)

    capfd.readouterr()
    exit_code = run_in_process("backfill", tmp_path / "data", samples=samples)
    output = capfd.readouterr().out

    assert exit_code == 1, output
    failure = next(line for line in output.splitlines() if "failed at" in line)
    assert f"backfill {FIRST}..{LAST} failed at extract-stackexchange" in failure
    assert "Posts.xml.gz" in failure and "unreadable gzip" in failure and "nothing of it was published" in failure
    with duckdb.connect(str(tmp_path / "data" / "published" / "influence.duckdb"), read_only=True) as connection:
        assert connection.execute(
            "SELECT CAST(day AS VARCHAR), status, failed_stage FROM run_audit ORDER BY day").fetchall() == [
            (day, "failed", "extract") for day in DAYS]
        tables = {name for (name,) in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {"run_audit"}


def test_a_day_that_fails_its_raw_checks_is_never_built(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A backfill builds each day as soon as its raw checks pass, while the later days are still
    being checked: a day whose checks fail stops the build before it, and the run fails at
    validate_raw, publishing nothing."""
    data = tmp_path / "data"
    corrupt = data / "raw" / "twitter" / "events" / f"dt={LAST}" / "part-0.parquet"  # kept by a Stack Exchange run
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not a parquet file")

    capfd.readouterr()
    exit_code = run_in_process("backfill", data)
    output = capfd.readouterr().out

    assert exit_code == 1, output
    failure = next(line for line in output.splitlines() if "failed at" in line)
    assert f"failed at validate_raw: raw checks for {LAST} failed: " in failure, failure
    assert "unreadable Parquet" in failure and "nothing of it was published" in failure
    with duckdb.connect(str(data / "published" / "influence.duckdb"), read_only=True) as connection:
        assert connection.execute(
            "SELECT CAST(day AS VARCHAR), status, failed_stage FROM run_audit ORDER BY day").fetchall() == [
            (day, "failed", "validate_raw") for day in DAYS]
        tables = {name for (name,) in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {"run_audit"}
    (run_results,) = (data / "runs" / LAST).glob("*/run_results.json")
    merged = json.loads(run_results.read_text())
    assert merged["stopped"]["before_day"] in DAYS and f"raw checks for {LAST} failed" in merged["stopped"]["reason"]
    assert LAST not in {step["day"] for step in merged["steps"] if step["step"] == "build"}
