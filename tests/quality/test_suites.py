"""The committed suites agree with the raw contract and accept what every real extractor writes."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from quality_helpers import make_paths

from extractors import stackexchange, synthetic
from extractors.schema import EVENT_TYPES, SCHEMAS
from influence.errors import InfluenceError
from influence.quality import RAW_ENTITIES, load_suite, source_of_network, validate_raw
from influence.settings import EXPECTATIONS_DIR, KNOWN_SOURCES, PROJECT_ROOT


def sql_type_of(arrow_type: pa.DataType) -> str:
    """The type name the suites use for each Arrow type: the SQLAlchemy type GX sees when DuckDB
    reads the Parquet column (see expectations/README.md)."""
    if pa.types.is_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz == "UTC":
        return "TIMESTAMP"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    raise AssertionError(f"no suite type for {arrow_type}")


@pytest.mark.parametrize("source", KNOWN_SOURCES)
@pytest.mark.parametrize("entity", RAW_ENTITIES)
def test_raw_suite_matches_the_arrow_schema(source: str, entity: str) -> None:
    suite = load_suite(f"raw_{source}_{entity}")
    by_type: dict[str, list[dict]] = {}
    for expectation in suite.expectations:
        by_type.setdefault(expectation["type"], []).append(expectation)
    schema = SCHEMAS[entity]
    (column_set,) = by_type["expect_table_columns_to_match_set"]
    assert column_set["kwargs"] == {"column_set": schema.names, "exact_match": True}
    declared = {e["kwargs"]["column"]: e["kwargs"]["type_"] for e in by_type["expect_column_values_to_be_of_type"]}
    assert declared == {f.name: sql_type_of(f.type) for f in schema}
    not_null = {e["kwargs"]["column"] for e in by_type.get("expect_column_values_to_not_be_null", [])}
    assert {f.name for f in schema if not f.nullable} <= not_null


def test_event_type_sets_are_within_the_contract() -> None:
    for source in KNOWN_SOURCES:
        suite = load_suite(f"raw_{source}_events")
        (types,) = [e for e in suite.expectations
                    if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "event_type"]
        assert set(types["kwargs"]["value_set"]) <= EVENT_TYPES


def test_every_check_declares_a_severity_and_volume_only_warns() -> None:
    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        for expectation in document["expectations"]:
            assert expectation["severity"] in ("critical", "warning"), path
            assert expectation["meta"]["why"], path
            if expectation["meta"].get("requires"):
                # Anything compared with another day may be a real event: never blocking.
                assert expectation["severity"] == "warning", path
    volume = next(e for e in load_suite("raw_higgs_events").expectations if e["meta"].get("requires") == "trailing_days")
    assert "4 July 2012" in volume["meta"]["why"] and "356,388" in volume["meta"]["why"]


def test_suite_without_explicit_severity_is_rejected(tmp_path: Path) -> None:
    document = json.loads((EXPECTATIONS_DIR / "raw_higgs_identity_links.json").read_text())
    del document["expectations"][1]["severity"]
    (tmp_path / "raw_higgs_identity_links.json").write_text(json.dumps(document))
    with pytest.raises(InfluenceError, match=r"raw_higgs_identity_links.json: expectation 1 .* must declare severity"):
        load_suite("raw_higgs_identity_links", tmp_path)


def test_networks_map_to_sources() -> None:
    assert source_of_network("twitter") == "higgs"
    assert source_of_network("se_quantumcomputing") == "stackexchange"
    assert source_of_network("syn_b") == "synthetic"
    assert source_of_network("myspace") is None


def test_importing_the_module_does_not_import_great_expectations() -> None:
    code = "import sys, influence.quality; print('great_expectations' in sys.modules, 'pandas' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert output.stdout.split() == ["False", "False"]


@pytest.mark.slow  # parses both Stack Exchange dumps into the extractor's cache first (~20-40 s)
def test_real_stack_exchange_partitions_pass(tmp_path: Path) -> None:
    paths = make_paths(tmp_path)
    day = datetime.date(2018, 5, 7)  # both sites active (quantumcomputing's first months, conlang)
    stackexchange.extract_day(day, samples_dir=paths.samples, raw_dir=paths.raw,
                              quarantine_dir=paths.quarantine, cache_dir=tmp_path / "cache")
    report = validate_raw(day, paths)
    assert [r for r in report.results if not r.success] == []
    assert {r.suite for r in report.results} >= {
        f"raw_se_{site}_{entity}" for site in ("quantumcomputing", "conlang") for entity in RAW_ENTITIES
    }


def test_synthetic_partitions_with_quarantined_rows_pass(tmp_path: Path) -> None:
    paths = make_paths(tmp_path)
    day = datetime.date(2018, 5, 7)
    synthetic.extract_day(day, raw_dir=paths.raw, quarantine_dir=paths.quarantine, scale="XS", seed=7,
                          malformed_share=0.01)
    report = validate_raw(day, paths)
    assert [r for r in report.results if not r.success] == []
    assert any(r.suite.startswith("raw_syn_") and r.suite.endswith("_events") for r in report.results)
    # malformed_share quarantined rows: the manifests account for them and still add up.
    manifests = [json.loads(p.read_text()) for p in paths.raw.glob("syn_*/events/dt=2018-05-07/_manifest.json")]
    assert sum(m["rows_rejected"] for m in manifests) > 0
    # Losing the quarantined rows of one network breaks the accounting.
    shutil.rmtree(next(paths.quarantine.glob("syn_*/events/dt=2018-05-07")))
    report = validate_raw(day, paths)
    assert [(r.suite, r.check, r.severity) for r in report.results if not r.success] == [
        ("raw_manifests", "expect_column_pair_values_to_be_equal(rows_rejected, quarantined_rows)", "error")
    ]
