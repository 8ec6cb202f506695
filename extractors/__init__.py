"""Source extractors: each module turns one source's input for one UTC day into the raw Parquet
partitions of docs/architecture.md. No Airflow import anywhere in this package.

A source module provides ``extract_day(day, *, samples_dir, raw_dir, quarantine_dir) ->
list[PartitionManifest]`` (the file-based readers also take ``cache_dir=None``, where each input
is parsed once per content); register it in ``SOURCES`` to make it reachable through ``extract``
(the CLI and the DAG go through ``extract``).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from types import ModuleType

from extractors import higgs, stackexchange, synthetic
from extractors.errors import SourceError
from extractors.partition import PartitionManifest

SOURCES: dict[str, ModuleType] = {
    "higgs": higgs,
    "stackexchange": stackexchange,
    "synthetic": synthetic,
}


def extract(
    source: str,
    day: datetime.date,
    *,
    samples_dir: Path,
    raw_dir: Path,
    quarantine_dir: Path,
    cache_dir: Path | None = None,
) -> list[PartitionManifest]:
    """Extract ``day`` of ``source``: all three entities of each of its networks."""
    try:
        module = SOURCES[source]
    except KeyError:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(sorted(SOURCES))}") from None
    extra = {} if cache_dir is None else {"cache_dir": cache_dir}
    manifests: list[PartitionManifest] = module.extract_day(
        day, samples_dir=samples_dir, raw_dir=raw_dir, quarantine_dir=quarantine_dir, **extra
    )
    return manifests


__all__ = ["SOURCES", "PartitionManifest", "SourceError", "extract"]
