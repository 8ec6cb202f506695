"""`influence run` takes several --start/--end ranges (one process for all of them); the ranges are
checked before anything starts. No Airflow here: `run_days` is replaced by a recorder."""

from __future__ import annotations

import datetime as dt

import pytest

from influence import cli, dbt


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(dbt, "start_worker", lambda paths=None: None)
    monkeypatch.setattr(cli, "run_days", lambda ranges, sources: calls.append(("run", ranges)) or 0)
    monkeypatch.setattr(cli, "backfill", lambda start, end, sources: calls.append(("backfill", (start, end))) or 0)
    return calls


def test_ranges_run_in_the_order_given(started: list[tuple[str, object]]) -> None:
    assert cli.main(["run", "--start", "2012-07-01", "--end", "2012-07-07",
                     "--start", "2018-08-29", "--end", "2018-09-02"]) == 0
    assert started == [("run", [(dt.date(2012, 7, 1), dt.date(2012, 7, 7)), (dt.date(2018, 8, 29), dt.date(2018, 9, 2))])]


@pytest.mark.parametrize(("arguments", "message"), [
    (["run", "--start", "2012-07-01", "--end", "2012-07-03", "--start", "2012-07-03", "--end", "2012-07-04"],
     "range 2012-07-03..2012-07-04 starts on or before the end of the previous one (2012-07-03)"),
    (["run", "--start", "2018-08-29", "--end", "2018-08-30", "--start", "2012-07-01", "--end", "2012-07-02"],
     "starts on or before the end of the previous one"),
    (["run", "--start", "2012-07-01", "--end", "2012-07-02", "--start", "2012-07-04"],
     "give one --end per --start (got 2 --start, 1 --end)"),
    (["run", "--start", "2012-07-03", "--end", "2012-07-02"], "--end 2012-07-02 is before --start 2012-07-03"),
    (["backfill", "--start", "2018-08-01", "--end", "2018-08-02", "--start", "2018-08-04", "--end", "2018-08-05"],
     "backfill runs one range"),
])
def test_bad_ranges_exit_2_before_anything_runs(started: list[tuple[str, object]], capsys: pytest.CaptureFixture[str],
                                                arguments: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert started == []


def test_a_backfills_progress_counts_the_days_its_one_dbt_build_has_done() -> None:
    from influence.pipeline import DAY_DONE

    days = [dt.date(2018, 3, 12) + dt.timedelta(days=offset) for offset in range(175)]
    progress = cli._RangeProgress(days)
    dbt_cell = 1 + cli.STAGE_COLUMNS.index("dbt_build")
    progress.observe("run", "dbt_build", "running", "")
    for day in days[:57]:
        progress.observe("run", "dbt_build", DAY_DONE, day.isoformat())
    assert " 57/175 " in progress.cells()[dbt_cell]
    assert "…" in progress.cells()[dbt_cell], "a day done does not end the stage"
    progress.observe("run", "dbt_build", "success", "360.0s")
    assert "✓" in progress.cells()[dbt_cell] and " 175/175 " in progress.cells()[dbt_cell]
