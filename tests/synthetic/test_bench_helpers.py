"""The benchmark's own measuring pieces: GNU time parsing on a real `/usr/bin/time -v` run, the
scipy PageRank reference against networkx, and the dbt node span from run_results."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import networkx
import numpy as np
import pytest

from influence import bench


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
