"""Real Higgs days extracted once per session by the real extractor; each test gets its own copy
of the raw directory to corrupt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from quality_helpers import JULY_1, JULY_2, JULY_3, JULY_4, make_paths

from extractors import higgs
from influence.settings import PROJECT_ROOT, Paths


@pytest.fixture(scope="session")
def higgs_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data/raw for 1-4 July 2012 of the real SNAP sample, written by extractors.higgs."""
    base = tmp_path_factory.mktemp("higgs")
    samples = PROJECT_ROOT / "data" / "samples"
    for day in (JULY_1, JULY_2, JULY_3, JULY_4):
        higgs.extract_day(day, samples_dir=samples, raw_dir=base / "raw",
                          quarantine_dir=base / "quarantine", cache_dir=base / "cache")
    return base / "raw"


@pytest.fixture
def raw_paths(higgs_raw: Path, tmp_path: Path) -> Paths:
    """A private copy of 1-2 July (4,170 and 16,074 real interactions) to validate 2 July against."""
    paths = make_paths(tmp_path)
    for day in (JULY_1, JULY_2):
        for entity in ("events", "accounts", "identity_links"):
            relative = Path("twitter") / entity / f"dt={day.isoformat()}"
            shutil.copytree(higgs_raw / relative, paths.raw / relative)
    return paths


