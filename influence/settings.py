"""Where everything lives. Every path has an environment-variable override so tests and
benchmarks can point a whole run at a temporary directory."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DAGS_DIR = PROJECT_ROOT / "dags"

MODEL_VERSION = "1.1.0"

# Every source an extractor exists for (extractors.SOURCES, tested), and the ones a run extracts
# unless told otherwise: the real samples; synthetic data is for the benchmark.
KNOWN_SOURCES = ("higgs", "stackexchange", "synthetic")
DEFAULT_SOURCES = ("higgs", "stackexchange")


# The raw layout the extractors write and the raw checks, the dbt worker and macros/raw_day.sql
# read (docs/architecture.md): <raw or quarantine dir>/<network>/<entity>/dt=YYYY-MM-DD/ holding
# PARQUET_FILE and, in raw, MANIFEST_FILE.
PARQUET_FILE = "part-0.parquet"
MANIFEST_FILE = "_manifest.json"


def partition_dir(base_dir: Path, network: str, entity: str, day: datetime.date) -> Path:
    return base_dir / network / entity / f"dt={day.isoformat()}"


def source_of_network(network: str) -> str | None:
    """Which extractor (and so which raw suites and dbt source, `raw_<source>`) a raw network
    directory comes from (docs/architecture.md; macros/raw_day.sql reads the same layout)."""
    if network == "twitter":
        return "higgs"
    if network.startswith("se_"):
        return "stackexchange"
    if network.startswith("syn_"):
        return "synthetic"
    return None


def _path(env_var: str, default: Path) -> Path:
    value = os.environ.get(env_var)
    return Path(value).resolve() if value else default


@dataclass(frozen=True)
class Paths:
    samples: Path
    raw: Path
    quarantine: Path
    warehouse: Path
    published: Path
    runs: Path

    @classmethod
    def under(cls, data_dir: Path, samples: Path = PROJECT_ROOT / "data" / "samples") -> Paths:
        """The standard layout of generated data below one directory (a test's, a benchmark's)."""
        return cls(
            samples=samples,
            raw=data_dir / "raw",
            quarantine=data_dir / "quarantine",
            warehouse=data_dir / "warehouse" / "influence.duckdb",
            published=data_dir / "published",
            runs=data_dir / "runs",
        )

    @property
    def published_db(self) -> Path:
        return self.published / "influence.duckdb"

    @property
    def published_parquet(self) -> Path:
        return self.published / "parquet"

    @property
    def extractor_cache(self) -> Path:
        """Parsed inputs, one entry per input content (extractors/README.md); under the runs
        directory, so it follows INFLUENCE_RUNS_DIR and no raw glob can match it."""
        return self.runs / "cache" / "extractors"

    def env(self) -> dict[str, str]:
        """The variables a child process (dbt, a test run) needs to see the same paths."""
        return {
            "INFLUENCE_SAMPLES_DIR": str(self.samples),
            "INFLUENCE_RAW_DIR": str(self.raw),
            "INFLUENCE_QUARANTINE_DIR": str(self.quarantine),
            "INFLUENCE_WAREHOUSE": str(self.warehouse),
            "INFLUENCE_PUBLISHED_DIR": str(self.published),
            "INFLUENCE_RUNS_DIR": str(self.runs),
        }


def paths() -> Paths:
    """Read the paths now (not at import), so an env var set by a test takes effect."""
    # The committed sample stays put when INFLUENCE_DATA_DIR moves the generated data elsewhere.
    layout = Paths.under(_path("INFLUENCE_DATA_DIR", PROJECT_ROOT / "data"))
    return Paths(
        samples=_path("INFLUENCE_SAMPLES_DIR", layout.samples),
        raw=_path("INFLUENCE_RAW_DIR", layout.raw),
        quarantine=_path("INFLUENCE_QUARANTINE_DIR", layout.quarantine),
        warehouse=_path("INFLUENCE_WAREHOUSE", layout.warehouse),
        published=_path("INFLUENCE_PUBLISHED_DIR", layout.published),
        runs=_path("INFLUENCE_RUNS_DIR", layout.runs),
    )
