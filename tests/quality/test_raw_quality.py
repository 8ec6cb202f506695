"""validate_raw on real Higgs partitions (written by extractors.higgs), good and corrupted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from influence.quality import QualityReport, validate_raw
from influence.settings import Paths
from quality_helpers import JULY_1, JULY_2, JULY_3, JULY_4, make_paths, partition_file, rewrite_partition


def failed(report: QualityReport) -> set[tuple[str, str, str]]:
    return {(r.suite, r.check, r.severity) for r in report.results if not r.success}


def events(paths: Paths) -> pa.Table:
    return pq.read_table(partition_file(paths, "events"))


def replace_value(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    index = table.schema.get_field_index(column)
    return table.set_column(index, table.schema.field(index), pa.array(values, table.schema.field(index).type))


def test_real_day_passes_every_check(raw_paths: Paths) -> None:
    report = validate_raw(JULY_2, raw_paths)
    assert [r for r in report.results if not r.success] == []
    suites = {r.suite for r in report.results}
    assert suites == {"raw_twitter_events", "raw_twitter_accounts", "raw_twitter_identity_links", "raw_manifests"}
    volume = next(r for r in report.results
                  if r.suite == "raw_twitter_events" and r.check == "expect_table_row_count_to_be_between()")
    assert volume.severity == "warning"
    assert "trailing median 4170 rows over 1 day(s)" in volume.observed  # 16,074 vs 4,170: 3.9x, inside 10x
    assert report.data_docs is not None and report.data_docs.name == "index.html"
    assert "raw_twitter_events" in report.data_docs.read_text()


def test_first_day_reports_volume_as_not_compared(raw_paths: Paths) -> None:
    report = validate_raw(JULY_1, raw_paths)
    assert report.blocking_failures == [] and report.warnings == []
    volume = [r for r in report.results if r.check == "expect_table_row_count_to_be_between()"
              and r.suite in ("raw_twitter_events", "raw_twitter_accounts")]
    assert len(volume) == 2
    assert all(r.success and r.observed.startswith("not compared: no partition in the 7 days") for r in volume)


def test_null_key_is_an_error(raw_paths: Paths) -> None:
    table = events(raw_paths)
    rewrite_partition(partition_file(raw_paths, "events"), replace_value(table, "actor_account_id", 10, None))
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == {("raw_twitter_events", "expect_column_values_to_not_be_null(actor_account_id)", "error")}
    (failure,) = report.blocking_failures
    assert failure.observed.startswith("1 of 16074 rows unexpected")


def test_unknown_event_type_is_an_error(raw_paths: Paths) -> None:
    table = events(raw_paths)
    rewrite_partition(partition_file(raw_paths, "events"), replace_value(table, "event_type", 3, "retweet"))
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == {("raw_twitter_events", "expect_column_values_to_be_in_set(event_type)", "error")}
    assert "retweet" in report.blocking_failures[0].observed


def test_timestamp_outside_the_day_is_an_error(raw_paths: Paths) -> None:
    table = events(raw_paths)
    # The first real interaction of 3 July 2012 (00:00:02 UTC), filed under 2 July.
    late = pa.scalar(1341273602_000000, pa.timestamp("us", tz="UTC")).as_py()
    rewrite_partition(partition_file(raw_paths, "events"), replace_value(table, "occurred_at", 0, late))
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == {("raw_twitter_events", "expect_column_max_to_be_between(occurred_at)", "error")}


def test_malformed_ids_are_errors(raw_paths: Paths) -> None:
    table = events(raw_paths)
    table = replace_value(table, "actor_account_id", 5, "12a45")
    table = replace_value(table, "event_id", 6, "rt 1 2 3")
    rewrite_partition(partition_file(raw_paths, "events"), table)
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == {
        ("raw_twitter_events", "expect_column_values_to_match_regex(actor_account_id)", "error"),
        ("raw_twitter_events", "expect_column_values_to_match_regex(event_id)", "error"),
    }


def test_duplicate_burst_is_an_error_but_a_stray_duplicate_is_not(raw_paths: Paths) -> None:
    path = partition_file(raw_paths, "events")
    table = events(raw_paths)
    # A few duplicated lines (real exports have them; staging deduplicates): below 1%, passes.
    rewrite_partition(path, pa.concat_tables([table, table.slice(0, 20)]))
    assert failed(validate_raw(JULY_2, raw_paths)) == set()
    # A replayed hour: 1,000 rows (6%) twice.
    rewrite_partition(path, pa.concat_tables([table, table.slice(5000, 1000)]))
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == {("raw_twitter_events", "expect_column_values_to_be_unique(event_id)", "error")}


def test_a_tenth_of_the_usual_volume_is_a_warning(raw_paths: Paths) -> None:
    # Keep the first 300 real interactions of 2 July: 300 < 4,170 / 10.
    path = partition_file(raw_paths, "events")
    rewrite_partition(path, events(raw_paths).slice(0, 300))
    report = validate_raw(JULY_2, raw_paths)
    assert report.blocking_failures == []
    (warning,) = report.warnings
    assert (warning.suite, warning.check) == ("raw_twitter_events", "expect_table_row_count_to_be_between()")
    assert "observed 300; trailing median 4170" in warning.observed


def test_empty_partition_is_valid_and_its_volume_warns(raw_paths: Paths) -> None:
    # A network with no activity that day (Stack Exchange in July 2012): 0 rows is a valid
    # partition; the bounds on occurred_at hold vacuously; against 4,170 rows the day before
    # it is a volume warning.
    rewrite_partition(partition_file(raw_paths, "events"), events(raw_paths).slice(0, 0))
    report = validate_raw(JULY_2, raw_paths)
    assert report.blocking_failures == []
    assert [(w.suite, w.check) for w in report.warnings] == [
        ("raw_twitter_events", "expect_table_row_count_to_be_between()")
    ]
    events_results = [r for r in report.results if r.suite == "raw_twitter_events"]
    vacuous = {r.check for r in events_results if r.observed == "vacuous: 0 rows"}
    assert {"expect_column_min_to_be_between(occurred_at)", "expect_column_max_to_be_between(occurred_at)",
            "expect_column_min_to_be_between(source_line)", "expect_column_values_to_not_be_null(event_id)",
            "expect_column_values_to_be_unique(event_id)"} <= vacuous
    # what an empty table can still get wrong ran: its columns, their types, its row count
    ran = {r.check for r in events_results} - vacuous
    assert "expect_table_columns_to_match_set()" in ran
    assert "expect_column_values_to_be_of_type(occurred_at)" in ran
    assert "expect_table_row_count_to_be_between()" in ran
    assert all(check.startswith(("expect_table_", "expect_column_values_to_be_of_type")) for check in ran)


def test_empty_partition_with_a_wrong_type_or_column_is_an_error(raw_paths: Paths) -> None:
    empty = events(raw_paths).slice(0, 0)
    index = empty.schema.get_field_index("occurred_at")
    naive = empty.set_column(index, "occurred_at", pc.cast(empty.column("occurred_at"), pa.timestamp("us")))
    rewrite_partition(partition_file(raw_paths, "events"), naive)
    report = validate_raw(JULY_2, raw_paths)
    blocking = {(r.suite, r.check) for r in report.blocking_failures}
    assert blocking == {("raw_twitter_events", "expect_column_values_to_be_of_type(occurred_at)")}

    renamed = empty.rename_columns(["occurred" if n == "occurred_at" else n for n in empty.column_names])
    rewrite_partition(partition_file(raw_paths, "events"), renamed)
    report = validate_raw(JULY_2, raw_paths)
    assert ("raw_twitter_events", "expect_table_columns_to_match_set()", "error") in failed(report)


def test_volume_of_a_quiet_network_is_not_compared(raw_paths: Paths) -> None:
    # 1 July cut to its first 30 real interactions: a 30-row median says nothing about 16,074.
    first_day = partition_file(raw_paths, "events", JULY_1)
    rewrite_partition(first_day, pq.read_table(first_day).slice(0, 30))
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == set()
    volume = next(r for r in report.results
                  if r.suite == "raw_twitter_events" and r.check == "expect_table_row_count_to_be_between()")
    assert volume.observed == "not compared: trailing median 30 rows is below the 50-row floor"


def test_real_4_july_spike_warns_and_does_not_block(higgs_raw: Path, tmp_path: Path) -> None:
    paths = make_paths(tmp_path)
    paths = Paths(paths.samples, higgs_raw, paths.quarantine, paths.warehouse, paths.published, paths.runs)
    report = validate_raw(JULY_4, paths)
    assert report.blocking_failures == []
    assert {(w.suite, w.check) for w in report.warnings} == {
        ("raw_twitter_events", "expect_table_row_count_to_be_between()"),
        ("raw_twitter_accounts", "expect_table_row_count_to_be_between()"),
    }
    events_warning = next(w for w in report.warnings if w.suite == "raw_twitter_events")
    assert "observed 356388; trailing median 16074 rows over 3 day(s)" in events_warning.observed


def test_renamed_column_and_wrong_type_are_errors(raw_paths: Paths) -> None:
    table = events(raw_paths)
    renamed = table.rename_columns(["occurred" if n == "occurred_at" else n for n in table.column_names])
    rewrite_partition(partition_file(raw_paths, "events"), renamed)
    report = validate_raw(JULY_2, raw_paths)
    assert ("raw_twitter_events", "expect_table_columns_to_match_set()", "error") in failed(report)

    index = table.schema.get_field_index("source_line")
    as_text = table.set_column(index, "source_line", pc.cast(table.column("source_line"), pa.string()))
    rewrite_partition(partition_file(raw_paths, "events"), as_text)
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == {
        ("raw_twitter_events", "expect_column_values_to_be_of_type(source_line)", "error"),
        # A string never compares with the integer bound: the range check fails too.
        ("raw_twitter_events", "expect_column_min_to_be_between(source_line)", "error"),
    }

    # Event times without their UTC zone: the same instants, but no longer the contract's type.
    index = table.schema.get_field_index("occurred_at")
    naive = table.set_column(index, "occurred_at", pc.cast(table.column("occurred_at"), pa.timestamp("us")))
    rewrite_partition(partition_file(raw_paths, "events"), naive)
    report = validate_raw(JULY_2, raw_paths)
    type_failures = {r.check: r.observed for r in report.blocking_failures if "be_of_type" in r.check}
    assert type_failures == {"expect_column_values_to_be_of_type(occurred_at)": "observed DATETIME"}


def test_manifest_that_does_not_add_up_is_an_error(raw_paths: Paths) -> None:
    manifest_path = partition_file(raw_paths, "events").parent / "_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["rows_read"] += 7  # seven input lines that went nowhere
    manifest_path.write_text(json.dumps(manifest))
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == {("raw_manifests", "expect_column_pair_values_to_be_equal(rows_read, rows_accounted)", "error")}


def test_missing_manifest_and_missing_entity_are_errors(raw_paths: Paths) -> None:
    (partition_file(raw_paths, "accounts").parent / "_manifest.json").unlink()
    shutil.rmtree(partition_file(raw_paths, "identity_links").parent)
    report = validate_raw(JULY_2, raw_paths)
    assert failed(report) == {
        ("raw_manifests", "expect_column_values_to_be_in_set(manifest_readable)", "error"),
        ("raw_manifests", "expect_column_values_to_be_in_set(partition_present)", "error"),
    }
    manifest_failure = next(r for r in report.blocking_failures if "manifest_readable" in r.check)
    assert "twitter/accounts/dt=2012-07-02/_manifest.json: missing" in manifest_failure.observed


def test_no_partition_for_the_day_is_an_error_and_a_network_gone_quiet_a_warning(raw_paths: Paths) -> None:
    report = validate_raw(JULY_3, raw_paths)  # only 1 and 2 July were extracted
    assert failed(report) == {
        ("raw_manifests", "expect_column_distinct_values_to_contain_set(network_extracted_today)", "error"),
        ("raw_manifests", "expect_column_values_to_be_in_set(network_extracted_today)", "warning"),
    }


def test_empty_raw_directory_is_an_error(tmp_path: Path) -> None:
    report = validate_raw(JULY_2, make_paths(tmp_path))
    assert failed(report) == {
        ("raw_manifests", "expect_column_distinct_values_to_contain_set(network_extracted_today)", "error"),
    }


def test_unknown_network_is_an_error(raw_paths: Paths) -> None:
    for entity in ("events", "accounts", "identity_links"):
        source = partition_file(raw_paths, entity).parent
        shutil.copytree(source, raw_paths.raw / "myspace" / entity / source.name)
    report = validate_raw(JULY_2, raw_paths)
    assert {(r.suite, r.check) for r in report.blocking_failures} == {
        (f"raw_myspace_{entity}", "suite for network") for entity in ("events", "accounts", "identity_links")
    }


def test_an_unreadable_partition_view_raises_duckdbs_own_error(tmp_path: Path) -> None:
    # _validate_partition turns duckdb.Error into a "read partition" result; an error wrapped in
    # SQLAlchemy's types would escape it and crash the raw checks instead.
    import duckdb
    import pytest

    from influence.quality import _Validator

    not_parquet = tmp_path / "part-0.parquet"
    not_parquet.write_text("not a parquet file\n")
    validator = _Validator(tmp_path / "docs", "raw_partitions")
    try:
        with pytest.raises(duckdb.Error, match="part-0.parquet"):
            validator.add_parquet_view("raw_twitter_events", not_parquet)
    finally:
        validator.close()


def test_data_docs_compile_their_templates_once_per_process(raw_paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    import jinja2

    validate_raw(JULY_2, raw_paths)  # compiles what this process has not compiled yet
    compiled: list[str | None] = []
    compile_template = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: object, name: str | None = None, *args: object,
                 **kwargs: object) -> object:
        compiled.append(name)
        return compile_template(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    report = validate_raw(JULY_2, raw_paths)
    assert "raw_twitter_events" in report.data_docs.read_text()
    assert compiled == [], "GX's page templates were compiled again (influence/gx_docs_views.py)"
