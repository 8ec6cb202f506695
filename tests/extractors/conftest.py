"""Fixtures for the extractor tests: temporary data directories and sample inputs cut from the
committed real sample (never invented rows), plus the committed bad-input corpus."""

from __future__ import annotations

import datetime
import gzip
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors.partition import PartitionManifest
from influence.settings import partition_dir

REPO = Path(__file__).resolve().parents[2]
REAL_SAMPLES = REPO / "data" / "samples"
REAL_HIGGS = REAL_SAMPLES / "higgs" / "higgs-activity_time.txt.gz"
REAL_SE = REAL_SAMPLES / "stackexchange"
BAD_INPUTS = REPO / "tests" / "bad_inputs"
SE_KINDS = ("Users", "Posts", "Comments", "Votes")
# Rows of the real quantumcomputing dump used as the base site: all created on its first day.
SE_SLICE = {"Users": 60, "Posts": 30, "Comments": 30, "Votes": 200}
SE_FIRST_DAY = datetime.date(2018, 3, 12)


@dataclass(frozen=True)
class Dirs:
    samples: Path
    raw: Path
    quarantine: Path
    cache: Path

    def kwargs(self) -> dict[str, Path]:
        return {
            "samples_dir": self.samples,
            "raw_dir": self.raw,
            "quarantine_dir": self.quarantine,
            "cache_dir": self.cache,
        }

    def events(self, network: str, day: datetime.date) -> pa.Table:
        return pq.read_table(partition_dir(self.raw, network, "events", day) / "part-0.parquet")

    def table(self, network: str, entity: str, day: datetime.date) -> pa.Table:
        return pq.read_table(partition_dir(self.raw, network, entity, day) / "part-0.parquet")

    def manifest(self, network: str, entity: str, day: datetime.date) -> PartitionManifest:
        return PartitionManifest.read(partition_dir(self.raw, network, entity, day))

    def quarantine_rows(self, network: str, entity: str, day: datetime.date) -> list[dict]:
        path = partition_dir(self.quarantine, network, entity, day) / "part-0.parquet"
        return pq.read_table(path).to_pylist() if path.exists() else []


@pytest.fixture
def dirs(tmp_path: Path) -> Dirs:
    made = Dirs(tmp_path / "samples", tmp_path / "raw", tmp_path / "quarantine", tmp_path / "cache")
    made.samples.mkdir()
    return made


@lru_cache(maxsize=4)
def real_higgs_lines(count: int) -> tuple[bytes, ...]:
    lines: list[bytes] = []
    with gzip.open(REAL_HIGGS, "rb") as handle:
        for line in handle:
            lines.append(line)
            if len(lines) == count:
                break
    return tuple(lines)


@lru_cache(maxsize=16)
def real_xml_lines(site: str, kind: str) -> tuple[bytes, ...]:
    with gzip.open(REAL_SE / site / f"{kind}.xml.gz", "rb") as handle:
        return tuple(handle.readlines())


def xml_rows(path: Path) -> list[dict[str, str]]:
    """The attributes of every row of a (small) gzipped dump file, parsed the plain way."""
    with gzip.open(path, "rb") as handle:
        return [dict(element.attrib) for element in ET.parse(handle).getroot()]


@pytest.fixture
def higgs_file(dirs: Dirs) -> Callable[[bytes], Path]:
    """Install ``data`` (already-compressed bytes) as the Higgs export of the temp samples dir."""

    def install(data: bytes) -> Path:
        target = dirs.samples / "higgs" / "higgs-activity_time.txt.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    return install


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@pytest.fixture
def se_site(dirs: Dirs) -> Callable[..., Path]:
    """Build ``<samples>/stackexchange/<site>/`` from the first rows of the real quantumcomputing
    dump (``SE_SLICE``), optionally with some files taken as they are from elsewhere (a corpus
    file) or cut to other row counts."""

    def build(
        site: str = "quantumcomputing", replace: dict[str, Path] | None = None, rows: dict[str, int] | None = None
    ) -> Path:
        directory = dirs.samples / "stackexchange" / site
        directory.mkdir(parents=True, exist_ok=True)
        counts = {**SE_SLICE, **(rows or {})}
        for kind in SE_KINDS:
            target = directory / f"{kind}.xml.gz"
            if replace and kind in replace:
                shutil.copyfile(replace[kind], target)
                continue
            lines = real_xml_lines("quantumcomputing", kind)
            header, body = lines[:2], [line for line in lines[2:] if line.lstrip().startswith(b"<row")]
            target.write_bytes(
                gzip_bytes(b"".join(header) + b"".join(body[: counts[kind]]) + f"</{kind.lower()}>\n".encode())
            )
        return directory

    return build
