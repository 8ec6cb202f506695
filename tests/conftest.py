"""Shared fixtures: point every path of the project at a temporary data directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from influence.settings import DAGS_DIR, PROJECT_ROOT, Paths, paths

# Airflow reads its configuration at import: give each test process (each pytest-xdist worker) its
# own home (SQLite metadata, no example DAGs) before any test imports airflow, so tests never touch
# ~/airflow or the .airflow/ the Makefile exports, and two workers never share one SQLite file.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="influence-test-airflow-")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_DIR))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow files first (a stable sort: each group keeps its order). `make test` hands whole files
    to the two pytest-xdist workers in collection order (`--no-loadscope-reorder`). xdist's default
    order, most tests first, left the long one-test files (the scheduler, the anti-gaming
    experiment) to the end, where one worker ran them while the other idled: the CI of 52d39d8 ran
    926 s. Replaying its per-file durations greedily gives 884 s for that order, 796 s for this."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def data_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A fresh, empty data directory (raw, warehouse, published, runs) reading the committed samples."""
    for variable in ("INFLUENCE_RAW_DIR", "INFLUENCE_QUARANTINE_DIR", "INFLUENCE_WAREHOUSE",
                     "INFLUENCE_PUBLISHED_DIR", "INFLUENCE_RUNS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("INFLUENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INFLUENCE_SAMPLES_DIR", str(PROJECT_ROOT / "data" / "samples"))
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    return paths()
