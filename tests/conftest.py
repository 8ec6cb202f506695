"""Shared fixtures: point every path of the project at a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from influence.settings import PROJECT_ROOT, Paths, paths


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
