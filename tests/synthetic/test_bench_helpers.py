"""The benchmark's own measuring pieces: GNU time parsing on a real `/usr/bin/time -v` run, the
scipy PageRank reference against networkx, the dbt node span from run_results, and the per-phase
statement timings of a macro-driven model read from dbt's debug log."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import networkx
import numpy as np
import pytest

from influence import bench
from influence.settings import Paths


def test_gnu_time_output_is_parsed(tmp_path: Path) -> None:
    time_file = tmp_path / "time.txt"
    # A process that holds ~200 MB, so the peak is clearly above an idle interpreter.
    subprocess.run(
        [bench.GNU_TIME, "-v", "-o", str(time_file), "python3", "-c", "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"],
        check=True,
    )
    measured = bench._parse_gnu_time(time_file.read_text())
    assert 200 < measured["peak_rss_mb"] < 400
    assert measured["time_wall_seconds"] >= 0 and measured["user_seconds"] >= 0 and "system_seconds" in measured


def test_scipy_pagerank_matches_networkx_with_weights_and_dangling_nodes() -> None:
    rng = np.random.default_rng(3)
    sources = rng.integers(0, 300, 2_000)
    targets = rng.integers(0, 400, 2_000)  # nodes 300..399 only receive: dangling
    keep = sources != targets
    sources, targets = sources[keep], targets[keep]
    weights = rng.random(len(sources)) + 0.1
    graph = networkx.DiGraph()
    graph.add_nodes_from(range(400))
    for a, b, w in zip(sources, targets, weights, strict=True):
        if graph.has_edge(a, b):  # the SQL edge state has one row per pair; sum like it does
            graph[a][b]["weight"] += w
        else:
            graph.add_edge(a, b, weight=w)
    expected = networkx.pagerank(graph, alpha=0.85, weight="weight", tol=1e-13, max_iter=1000)
    ranks, iterations = bench._scipy_pagerank(sources, targets, weights, 400, 0.85)
    assert iterations < 1000
    assert np.max(np.abs(ranks - np.array([expected[i] for i in range(400)]))) < 1e-9
    assert ranks.sum() == pytest.approx(1.0)


def test_dbt_node_span_is_first_start_to_last_end(tmp_path: Path) -> None:
    run_results = tmp_path / "run_results.json"
    run_results.write_text(json.dumps({"results": [
        {"unique_id": "model.x.a", "execution_time": 2.0, "timing": [
            {"name": "compile", "started_at": "2024-01-01T00:00:01.000000Z", "completed_at": "2024-01-01T00:00:01.500000Z"},
            {"name": "execute", "started_at": "2024-01-01T00:00:01.500000Z", "completed_at": "2024-01-01T00:00:03.000000Z"}]},
        {"unique_id": "model.x.b", "execution_time": 4.0, "timing": [
            {"name": "execute", "started_at": "2024-01-01T00:00:02.000000Z", "completed_at": "2024-01-01T00:00:06.000000Z"}]},
    ]}))
    assert bench._dbt_node_span(run_results) == pytest.approx(5.0)
    assert bench._dbt_nodes(run_results) == {"model.x.a": 2.0, "model.x.b": 4.0}


# A dbt debug log excerpt: int_pagerank on Thread-7, with int_edge_state (Thread-6) logging between
# a statement and its status, and int_pagerank_convergence (a name with the same prefix) after it.
PAGERANK_NODE = "model.influence.int_pagerank"
COMMENT = '/* {"app": "dbt", "node_id": "model.influence.int_pagerank"} */'
DBT_LOG = f"""\
07:50:41.192186 [debug] [Thread-7 (]: Began running node {PAGERANK_NODE}
07:50:41.192944 [info ] [Thread-7 (]: 43 of 51 START sql incremental model intermediate.int_pagerank ... [RUN]
07:50:41.214809 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

    select pagerank_damping from "influence"."intermediate"."int_model_parameters"
07:50:41.338518 [debug] [Thread-7 (]: SQL status: OK in 0.125 seconds
07:50:41.342617 [debug] [Thread-7 (]: On {PAGERANK_NODE}: BEGIN
07:50:41.343347 [debug] [Thread-7 (]: SQL status: OK in 0.000 seconds
07:50:41.344003 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

        -- The edge query runs once.
        create or replace temp table "int_pagerank__weighted_edges" as select 1;
        create or replace temp table "int_pagerank__nodes" as select 1;
07:50:45.000000 [debug] [Thread-6 (]: On model.influence.int_edge_state: /* {{}} */

    create or replace temp table "int_pagerank__next_rank" as select 1
07:50:50.000000 [debug] [Thread-6 (]: SQL status: OK in 7.000 seconds
07:51:00.267745 [debug] [Thread-7 (]: SQL status: OK in 18.900 seconds
07:51:00.269733 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

            create or replace temp table "int_pagerank__next_leaf" as select 1;
            create or replace temp table "int_pagerank__next_rank" as select 1;
07:51:02.099613 [debug] [Thread-7 (]: SQL status: OK in 1.800 seconds
07:51:02.101393 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

    select coalesce(max(core.l1_delta + leaf.leaves), 0.0) from core
07:51:02.140159 [debug] [Thread-7 (]: SQL status: OK in 0.040 seconds
07:51:02.142387 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

            drop table "int_pagerank__rank";
            alter table "int_pagerank__next_rank" rename to "int_pagerank__rank";
07:51:02.143732 [debug] [Thread-7 (]: SQL status: OK in 0.001 seconds
07:51:02.145250 [debug] [Thread-6 (]: Finished running node model.influence.int_edge_state
07:51:02.145250 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

            create or replace temp table "int_pagerank__next_leaf" as select 1;
07:51:04.009805 [debug] [Thread-7 (]: SQL status: OK in 2.000 seconds
07:51:04.010182 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

    select coalesce(max(core.l1_delta), 0.0) from core
07:51:04.054376 [debug] [Thread-7 (]: SQL status: OK in 0.050 seconds
07:51:11.951463 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

        create or replace temp table "int_pagerank__result" as select 1;
        create or replace temp table "int_pagerank__convergence" as select 1;
07:51:12.101166 [debug] [Thread-7 (]: SQL status: OK in 0.150 seconds
07:51:12.108752 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

    create temporary table
      "int_pagerank__dbt_tmp20261126075112107671"
    as (select 1);
07:51:12.416453 [debug] [Thread-7 (]: SQL status: OK in 0.300 seconds
07:51:12.427895 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

    delete from "influence"."intermediate"."int_pagerank" where true;
    insert into "influence"."intermediate"."int_pagerank" (select 1);
07:51:13.113478 [debug] [Thread-7 (]: SQL status: OK in 0.700 seconds
07:51:13.118420 [debug] [Thread-7 (]: On {PAGERANK_NODE}: {COMMENT}

        drop table if exists "int_pagerank__nodes";
07:51:13.120444 [debug] [Thread-7 (]: SQL status: OK in 0.002 seconds
07:51:13.121359 [debug] [Thread-7 (]: On {PAGERANK_NODE}: COMMIT
07:51:13.121801 [debug] [Thread-7 (]: On {PAGERANK_NODE}: COMMIT
07:51:13.161530 [debug] [Thread-7 (]: SQL status: OK in 0.030 seconds
07:51:13.162829 [debug] [Thread-7 (]: On {PAGERANK_NODE}: Close
07:51:13.169089 [debug] [Thread-7 (]: Finished running node {PAGERANK_NODE}
07:51:13.171892 [debug] [Thread-7 (]: Began running node {PAGERANK_NODE}_convergence
07:51:13.194335 [debug] [Thread-7 (]: On {PAGERANK_NODE}_convergence: {COMMENT}

    create or replace temp table "int_pagerank__next_rank" as select 1
07:51:14.000000 [debug] [Thread-7 (]: SQL status: OK in 9.000 seconds
"""


def test_node_statements_follow_the_thread_that_began_the_node() -> None:
    statements = bench._node_statements(DBT_LOG.splitlines(), PAGERANK_NODE)
    # Thread-6's statement and the _convergence node's are not int_pagerank's.
    assert [seconds for _, seconds in statements] == [
        0.125, 0.0, 18.9, 1.8, 0.04, 0.001, 2.0, 0.05, 0.15, 0.3, 0.7, 0.002, 0.03]
    assert statements[1][0] == "BEGIN"
    assert statements[2][0].startswith("-- The edge query runs once.")  # dbt's query comment stripped


def _day(day: str, dbt_nodes: dict[str, float], raw_repeats: list[dict]) -> dict:
    """The per-day summary the report renders, with round numbers."""
    stages = {stage: {"wall_seconds": 10.0, "work_seconds": 9.0, "peak_rss_mb": 100.0} for stage in bench.STAGES}
    stages["dbt_build"]["node_span_seconds"] = 40.0
    return {"day": day, "day_number": 2, "events": 1000, "total_wall_seconds": 50.0, "total_work_seconds": 45.0,
            "peak_rss_mb": 100.0, "events_per_second": 20.0, "stages": stages, "dbt_nodes": dbt_nodes,
            "repeats": len(raw_repeats), "raw_repeats": raw_repeats}


def test_slowest_macro_model_is_reported_by_phase_from_its_dbt_log(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)
    compiled = paths.runs / "dbt_target" / "compiled" / "influence" / "models" / "intermediate" / "int_pagerank.sql"
    compiled.parent.mkdir(parents=True)
    compiled.write_text('select * from "int_pagerank__nodes" as nodes join "int_pagerank__result" using (node_id)')
    day = dt.date(2024, 1, 2)
    # Three repeats; r1 has the median int_pagerank time, so its log is the one read.
    repeats = [{"dbt_build": {"nodes": {PAGERANK_NODE: seconds}}} for seconds in (40.0, 24.2, 20.0)]
    for repeat in range(3):
        log = paths.runs / day.isoformat() / f"bench_S_{day}_r{repeat}" / "dbt_logs" / "dbt.log"
        log.parent.mkdir(parents=True)
        log.write_text(DBT_LOG if repeat == 1 else "")
    scale_result = {"scale": "S", "seed": 42, "start": "2024-01-01", "days_requested": 2, "repeats": 3,
                    "machine": {"cpus": 2, "memory_gb": 8.0},
                    "days": [_day(day.isoformat(), {PAGERANK_NODE: 24.2, "model.influence.stg_x": 3.0}, repeats)]}

    plan = bench._explain_slowest_model(paths, scale_result)

    assert plan is not None and "error" not in plan
    assert plan["model"] == PAGERANK_NODE and plan["seconds"] == 24.2 and plan["repeat"] == 1
    assert plan["statement_count"] == 13 and plan["iterations"] == 2
    assert plan["logged_seconds"] == pytest.approx(24.098)
    phases = {phase["phase"]: phase for phase in plan["phases"]}
    assert [phase["phase"] for phase in plan["phases"]] == [
        "other select", "transaction", "graph set-up", "iteration", "convergence check", "swap", "result",
        "new rows (dbt temp table)", "delete + insert", "clean-up (post-hook)"]
    assert phases["graph set-up"] == {"phase": "graph set-up", "statements": 1, "seconds": 18.9,
                                      "min_seconds": 18.9, "max_seconds": 18.9}
    assert phases["iteration"] == {"phase": "iteration", "statements": 2, "seconds": 3.8,
                                   "min_seconds": 1.8, "max_seconds": 2.0}
    assert (phases["convergence check"]["statements"], phases["convergence check"]["seconds"]) == (2, 0.09)
    assert (phases["transaction"]["statements"], phases["transaction"]["seconds"]) == (2, 0.03)

    scale_result["slowest_model_plan"] = plan
    report = "\n".join(bench._scale_section(scale_result))
    assert "int_pagerank runs in 13 statements from a macro; dbt's log timings per phase:" in report
    assert "| graph set-up | 1 | 18.90 | 18.90 | 78% |" in report
    assert "| iteration | 2 | 3.80 | 2.00 | 16% |" in report
    assert "EXPLAIN ANALYZE of the slowest model" not in report and "| operator |" not in report
    findings = "\n".join(bench._findings_section({"scales": {"S": scale_result}}))
    assert "graph set-up 18.9 s of 24.2 s; 2 iterations of 1.8–2.0 s (3.8 s)" in findings


def test_a_missing_dbt_log_is_one_clear_line_in_the_report(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)
    compiled = paths.runs / "dbt_target" / "compiled" / "int_pagerank.sql"
    compiled.parent.mkdir(parents=True)
    compiled.write_text('select * from "int_pagerank__nodes"')
    scale_result = {"scale": "S", "seed": 42, "start": "2024-01-01", "days_requested": 1, "repeats": 1,
                    "machine": {}, "days": [_day("2024-01-02", {PAGERANK_NODE: 5.0}, [])]}
    plan = bench._explain_slowest_model(paths, scale_result)
    assert plan is not None and plan["error"].startswith("dbt log not found: ")
    assert plan["dbt_log"].endswith("bench_S_2024-01-02_r0/dbt_logs/dbt.log")
    scale_result["slowest_model_plan"] = plan
    report = bench._scale_section(scale_result)
    assert plan["error"] in report and not any(line.startswith("| phase |") for line in report)


def test_growth_from_day_two_names_the_models_and_stages_that_grew() -> None:
    days = [_day(f"2024-01-0{n}", {"model.influence.int_pagerank": 5.0 * n, "model.influence.stg_events": 3.0,
                                   "model.influence.int_edge_state": 1.0 + n, "test.influence.unique_x": 9.0 * n}, [])
            for n in (1, 2, 3, 4)]
    for number, day in enumerate(days, start=1):
        day["day_number"] = number
        day["total_wall_seconds"] = 40.0 + 10.0 * number
    days[-1]["stages"]["publish"]["wall_seconds"] = 13.0
    finding = bench._growth_finding("M", {"days": days})
    assert finding is not None
    assert finding.startswith("**Day 4 against day 2 at M**: 60.0 → 80.0 s (×1.33). Models that grew most: "
                              "`int_pagerank` +10.0 s, `int_edge_state` +2.0 s; mart checks +0.0 s, publish +3.0 s.")
    assert "stg_events" not in finding and "unique_x" not in finding  # flat models and tests are not named
    assert bench._growth_finding("M", {"days": days[:2]}) is None  # two days show no growth yet


def test_an_l_run_over_the_day_ratio_before_day_ten_is_a_miss_and_under_it_is_not_a_pass() -> None:
    def l_days(walls: list[float]) -> dict:
        days = [_day(f"2024-01-0{n}", {}, []) for n in range(1, len(walls) + 1)]
        for number, (day, wall) in enumerate(zip(days, walls, strict=True), start=1):
            day["day_number"], day["total_wall_seconds"] = number, wall
        return {"scales": {"L": {"days": days}}}

    def ratio_row(results: dict) -> str:
        return next(line for line in bench._targets_section(results) if line.startswith("| L: day "))

    assert ratio_row(l_days([500.0, 800.0, 900.0, 1000.0])) == (
        "| L: day 4 / day 2 wall | ≤ 1.25 (target: L day 10 / day 2) | 1.25 | indicative only |")
    assert "**missed** (over the limit by day 4" in ratio_row(l_days([500.0, 800.0, 900.0, 1010.0]))
    assert "| 1.30 | **missed** |" in ratio_row(l_days([500.0, 800.0] + [900.0] * 7 + [1040.0]))
    assert "| 1.20 | met |" in ratio_row(l_days([500.0, 800.0] + [900.0] * 7 + [960.0]))


def test_each_day_is_shown_with_the_machine_speed_measured_around_it() -> None:
    probed, unprobed = _day("2024-01-02", {}, []), _day("2024-01-01", {}, [])
    probed["machine_probe_seconds"] = [3.214, 4.5]
    scale_result = {"scale": "M", "seed": 42, "start": "2024-01-01", "days_requested": 2, "repeats": 1,
                    "machine": {}, "days": [unprobed, probed]}
    rows = [line for line in bench._scale_section(scale_result) if line.startswith("| 2 (")]
    assert [row.split(" | ")[2] for row in rows] == ["–", "3.21/4.50"]  # days of older runs have no probe
    assert 0 < bench.machine_probe_seconds() < 120
