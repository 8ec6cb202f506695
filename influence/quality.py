"""Great Expectations validation of the raw partitions and of the final marts.

The suites are committed JSON in ``expectations/`` (see its README): one per source and entity
for the raw partitions (``raw_<source>_<entity>.json``), one for the partition manifests of the
day (``raw_manifests.json``) and one per validated mart (``marts_<mart>.json``). Each expectation
declares GX's own ``severity``: ``critical`` is reported as ``"error"`` (blocks publishing),
``warning`` as ``"warning"`` (publishes, recorded).

Raw partitions and marts are validated by GX's SQL execution engine on DuckDB, in a scratch
database per run, so GX's metrics are DuckDB aggregates and no validated table is ever copied
into Python memory: each raw partition is a view over its Parquet file (at 50M events a pandas
frame of one partition needed > 13 GB); the working warehouse is attached read-only and each
validated (mart, model version) of the day is a table of the scratch database holding the day's
rows plus the helper columns, computed once by DuckDB (window functions, a join to the previous
day's rows; as a view GX's thirty-odd queries each recomputed them). On pandas frames the mart
checks peaked at 5.1 GB by day 4 of the L benchmark. GX has no DuckDB support of its own; the SQLAlchemy
dialect that fills the gaps is in ``influence.gx_duckdb``. The one small table, the day's
manifests, is a pandas DataFrame. Everything runs in one ephemeral GX context with an in-memory
store and one whole-table batch per validated table. Day-dependent bounds (the partition's day,
the trailing-day volume baseline, the previous day's person count) are GX suite parameters
filled in at run time; comparisons that need more than one table or row (rank versus score, PSI
against the previous day, manifest accounting) are computed here as helper columns and validated
by GX like any other column, so they show up in the Data Docs with the rest.

Great Expectations takes ~6 s to import: it is imported inside the functions that use it, so
importing this module (as the DAG file does) stays cheap. pandas, pyarrow and duckdb likewise.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import shutil
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from influence.errors import InfluenceError
from influence.settings import EXPECTATIONS_DIR, MANIFEST_FILE, PARQUET_FILE, Paths, partition_dir, source_of_network

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context import AbstractDataContext

RAW_ENTITIES: tuple[str, ...] = ("events", "accounts", "identity_links")
DATA_DOCS_DIRNAME = "gx_data_docs"

# GX severities used in the suites → the severities of the quality contract.
SEVERITY_OF_GX = {"critical": "error", "warning": "warning"}

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class CheckResult:
    suite: str  # e.g. "raw_twitter_events", "marts_person_scores"
    check: str  # expectation type plus column, human readable
    severity: str  # "error" blocks publishing, "warning" publishes and is recorded
    success: bool
    observed: str  # one line: what was seen


@dataclass
class QualityReport:
    stage: str  # "raw" or "marts"
    day: datetime.date
    results: list[CheckResult]
    data_docs: Path | None  # index.html of the GX Data Docs built for this run
    seconds: float = 0.0  # wall time of the validation, GX import excluded
    notes: list[str] = field(default_factory=list)

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "warning"]


# --------------------------------------------------------------------------- suites


@dataclass(frozen=True)
class SuiteSpec:
    """A suite file as committed: GX suite JSON whose expectations all declare a severity."""

    name: str
    path: Path
    meta: dict[str, Any]
    notes: str | None
    expectations: list[dict[str, Any]]

    def without_requirement(self, requirement: str) -> SuiteSpec:
        """The suite minus the expectations that need a baseline this run does not have."""
        kept = [e for e in self.expectations if e.get("meta", {}).get("requires") != requirement]
        return SuiteSpec(self.name, self.path, self.meta, self.notes, kept)

    def requiring(self, requirement: str) -> list[dict[str, Any]]:
        return [e for e in self.expectations if e.get("meta", {}).get("requires") == requirement]

    def split(self, types: frozenset[str]) -> tuple[SuiteSpec, list[dict[str, Any]]]:
        """(the suite without expectations of these types, the removed expectations)."""
        kept = [e for e in self.expectations if e["type"] not in types]
        removed = [e for e in self.expectations if e["type"] in types]
        return SuiteSpec(self.name, self.path, self.meta, self.notes, kept), removed


def load_suite(name: str, expectations_dir: Path = EXPECTATIONS_DIR) -> SuiteSpec:
    """Read ``expectations/<name>.json``. A suite that is missing, unparseable or has an
    expectation without an explicit severity is a project defect: one-line InfluenceError."""
    path = expectations_dir / f"{name}.json"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise InfluenceError(f"{path}: suite file missing") from None
    except json.JSONDecodeError as error:
        raise InfluenceError(f"{path}: not valid JSON ({error})") from None
    if document.get("name") != name:
        raise InfluenceError(f"{path}: suite name {document.get('name')!r} differs from the file name")
    expectations = document.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise InfluenceError(f"{path}: no expectations")
    for position, expectation in enumerate(expectations):
        severity = expectation.get("severity")
        if severity not in SEVERITY_OF_GX:
            raise InfluenceError(
                f"{path}: expectation {position} ({expectation.get('type')}) must declare severity "
                f"'critical' or 'warning', has {severity!r}"
            )
    return SuiteSpec(name, path, document.get("meta") or {}, document.get("notes"), expectations)


# --------------------------------------------------------------------------- GX plumbing


# GX's page views, with their Jinja templates compiled once per process (influence/gx_docs_views.py)
_CACHED_VIEWS = {
    "page": {"module_name": "influence.gx_docs_views", "class_name": "CachedJinjaPageView"},
    "index": {"module_name": "influence.gx_docs_views", "class_name": "CachedJinjaIndexPageView"},
}


class _Validator:
    """One ephemeral GX context per validate_* call: in-memory stores, a Data Docs site in the
    run folder, a pandas data source (the raw manifests) and a SQL data source over a scratch
    DuckDB database (``sql_source_name``: the raw partitions, the marts), one asset per validated
    table."""

    def __init__(self, docs_dir: Path, sql_source_name: str) -> None:
        os.environ["GX_ANALYTICS_ENABLED"] = "false"
        # GX logs hundreds of INFO lines at import and per validation; keep the task log readable.
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        # On DuckDB (no GX dialect module) every type check warns that it compares with
        # SQLAlchemy's own types, which is what the suites' type names are.
        logging.getLogger("great_expectations.expectations.type_comparison").setLevel(logging.ERROR)
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self._gx = gx
        self.docs_dir = docs_dir
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites={
                "run": {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": _CACHED_VIEWS["index"]},
                    "site_section_builders": {
                        section: {"view": _CACHED_VIEWS["page"]} for section in ("expectations", "validations", "profiling")
                    },
                }
            },
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        )
        self.context: AbstractDataContext = gx.get_context(mode="ephemeral", project_config=config)
        self._source = self.context.data_sources.add_pandas(name="influence")
        self._sql_source_name = sql_source_name
        self._sql_source: Any = None
        self._scratch: Path | None = None
        self._connection: Any = None  # a DB-API connection to the scratch database, see execute()
        self._attached: list[str] = []

    def _duckdb_source(self) -> Any:
        """The SQL data source over a scratch DuckDB database holding one view (raw partitions)
        or table (marts) per validated table, created on first use."""
        if self._sql_source is None:
            import tempfile

            import influence.gx_duckdb as gx_duckdb

            self._scratch = Path(tempfile.mkdtemp(prefix=f"influence-{self._sql_source_name}-checks-"))
            database = self._scratch / "checks.duckdb"
            # The same limits as the dbt profile (the two never run at once). No TimeZone setting:
            # DuckDB refuses it in the connect-time config (icu is not autoloaded yet), and it is
            # not needed: TIMESTAMPTZ values come out as time-zone-aware instants, which compare
            # correctly with the UTC day bounds in any session time zone.
            config = {
                "memory_limit": os.environ.get("INFLUENCE_DUCKDB_MEMORY_LIMIT", "6GB"),
                "threads": int(os.environ.get("INFLUENCE_DUCKDB_THREADS", "2")),
                "temp_directory": str(self._scratch / "spill"),
                "preserve_insertion_order": False,
            }
            self._sql_source = self.context.data_sources.add_sql(
                name=self._sql_source_name,
                connection_string=f"{gx_duckdb.URL_SCHEME}:///{database}",
                # GX would otherwise copy each batch into a temporary table first.
                create_temp_table=False,
                kwargs={"connect_args": {"config": config}},
            )
        return self._sql_source

    def add_parquet_view(self, view: str, path: Path) -> None:
        """``view`` reads the Parquet file at ``path``; raises duckdb.Error if it is unreadable
        (the view binds the file's schema when it is created). Created on the raw DuckDB
        connection: through SQLAlchemy the error would arrive wrapped in SQLAlchemy's own type,
        which the caller's ``except duckdb.Error`` does not catch."""
        self.execute(f"create or replace view {_sql_name(view)} as "
                     f"select * from read_parquet({_sql_string(str(path))}, hive_partitioning = false)")

    def execute(self, statement: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run ``statement`` on the scratch database and return its rows (small results only).

        One DB-API connection, held until :meth:`close`: it keeps the scratch DuckDB instance,
        and so an ATTACH, alive while GX's own engine opens and closes its connections (an ATTACH
        belongs to the instance, which every connection to the file in this process shares).
        Errors are DuckDB's own (duckdb.Error), not SQLAlchemy's wrappers."""
        if self._connection is None:
            self._connection = self._duckdb_source().get_engine().raw_connection()
        cursor = self._connection.cursor()
        cursor.execute(statement, parameters)
        return cursor.fetchall()

    def attach_read_only(self, alias: str, path: Path) -> None:
        """ATTACH the DuckDB file at ``path`` READ_ONLY as ``alias``; raises duckdb.Error if it
        cannot be opened (missing, locked by a writer, not a DuckDB file)."""
        self.execute(f"attach {_sql_string(str(path))} as {_sql_name(alias)} (read_only)")
        self._attached.append(alias)

    def create_table(self, table: str, select: str) -> None:
        """``table`` in the scratch database, the rows of ``select``; raises duckdb.Error."""
        self.execute(f"create or replace table {_sql_name(table)} as {select}")

    def close(self) -> None:
        """Detach what was attached (GX's engine may keep connections to the scratch instance
        open after this; the warehouse file must not stay open with them) and drop the scratch
        database (the partitions' views, the marts' tables of the day and what DuckDB spilled)."""
        import duckdb

        if self._connection is not None:
            for alias in self._attached:
                try:
                    self.execute(f"detach {_sql_name(alias)}")
                except duckdb.Error:
                    pass
            self._attached.clear()
            self._connection.close()
            self._connection = None
        if self._sql_source is not None:
            self._sql_source.get_engine().dispose()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def run(
        self,
        run_name: str,
        spec: SuiteSpec,
        table: pd.DataFrame | str,
        parameters: dict[str, Any],
    ) -> ExpectationSuiteValidationResult:
        """Validate ``table`` against ``spec`` stored as suite ``run_name`` (e.g. the Higgs events
        suite runs as ``raw_twitter_events``); the result goes to the store for the Data Docs.
        ``table`` is a pandas DataFrame or the name of a view in the scratch database
        (:meth:`add_parquet_view`) or a table (:meth:`create_table`)."""
        gx = self._gx
        suite = gx.ExpectationSuite(
            name=run_name,
            expectations=[_with_rendered_note(e) for e in spec.expectations],
            meta={**spec.meta, "suite_file": spec.path.name},
            notes=spec.notes,
        )
        suite = self.context.suites.add(suite)
        batch_parameters: dict[str, Any] | None
        if isinstance(table, str):
            asset = self._duckdb_source().add_table_asset(name=run_name, table_name=table)
            batch_definition = asset.add_batch_definition_whole_table(name="whole_table")
            batch_parameters = None
        else:
            asset = self._source.add_dataframe_asset(name=run_name)
            batch_definition = asset.add_batch_definition_whole_dataframe(name="whole_table")
            batch_parameters = {"dataframe": table}
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=run_name, data=batch_definition, suite=suite)
        )
        return definition.run(
            batch_parameters=batch_parameters,
            expectation_parameters=parameters,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 3},
        )

    def build_docs(self) -> Path:
        self.context.build_data_docs(site_names=["run"])
        return self.docs_dir / "index.html"


def _sql_name(name: str) -> str:
    """A quoted SQL identifier (any text: a model version such as ``1.1.0``, a quote)."""
    return '"' + name.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    """A SQL string literal (a view's or table's defining query cannot take parameters)."""
    return "'" + value.replace("'", "''") + "'"


def _with_rendered_note(expectation: dict[str, Any]) -> dict[str, Any]:
    """Data Docs render an expectation's ``notes`` but not its severity or meta: show both there."""
    severity = SEVERITY_OF_GX[expectation["severity"]]
    why = expectation.get("meta", {}).get("why", "")
    return {**expectation, "notes": f"**{severity}** — {why}" if why else f"**{severity}**"}


def _check_name(expectation: dict[str, Any] | Any) -> str:
    """``expect_x(column)`` from a suite dict or a GX ExpectationConfiguration."""
    if isinstance(expectation, dict):
        kind, kwargs = expectation["type"], expectation.get("kwargs", {})
    else:
        kind, kwargs = expectation.type, expectation.kwargs
    if "column" in kwargs:
        target = str(kwargs["column"])
    elif "column_A" in kwargs:
        target = f"{kwargs['column_A']}, {kwargs['column_B']}"
    elif "column_list" in kwargs:
        target = ", ".join(kwargs["column_list"])
    else:
        target = ""
    return f"{kind}({target})"


def _one_line(value: Any, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _observed(result: ExpectationValidationResult) -> str:
    """What GX saw, as one line."""
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return _one_line(f"check raised: {info.get('exception_message')}")
    detail = result.result or {}
    if "observed_value" in detail:
        return _one_line(f"observed {detail['observed_value']}")
    if "unexpected_count" in detail:
        # GX judges non-null values only (nulls are their own check): say so when there are nulls.
        count = detail.get("unexpected_count") or 0
        missing = detail.get("missing_count") or 0
        judged = (detail.get("element_count") or 0) - missing
        percent = detail.get("unexpected_percent_nonmissing", detail.get("unexpected_percent")) or 0.0
        what = "non-null values" if missing else "rows"
        text = f"{count} of {judged} {what} unexpected ({percent:.3g}%)"
        examples = detail.get("partial_unexpected_list") or []
        if count and examples:
            text += f", e.g. {examples[:3]}"
        return _one_line(text)
    return _one_line(detail or "no details")


def _collect(
    suite_name: str,
    validation: ExpectationSuiteValidationResult,
    context_by_requirement: dict[str, str],
) -> list[CheckResult]:
    results = []
    for result in validation.results:
        configuration = result.expectation_config
        severity = SEVERITY_OF_GX[str(getattr(configuration.severity, "value", configuration.severity))]
        observed = _observed(result)
        requirement = (configuration.meta or {}).get("requires")
        if requirement in context_by_requirement:
            observed = _one_line(f"{observed}; {context_by_requirement[requirement]}")
        results.append(
            CheckResult(suite_name, _check_name(configuration), severity, bool(result.success), observed)
        )
    return results


def _not_compared(suite_name: str, spec: SuiteSpec, requirement: str, reason: str) -> list[CheckResult]:
    """Baseline checks that cannot run (first day, no trailing partitions) are reported as passed
    with the reason, so the report says what was not compared instead of omitting it."""
    return _passed_without_running(suite_name, spec.requiring(requirement), f"not compared: {reason}")


def _passed_without_running(suite_name: str, expectations: list[dict[str, Any]], observed: str) -> list[CheckResult]:
    return [
        CheckResult(suite_name, _check_name(e), SEVERITY_OF_GX[e["severity"]], True, observed)
        for e in expectations
    ]


# What every row (value, pair of values, group of rows) of a table must satisfy holds vacuously
# for a table of zero rows, and so does a bound on a column's minimum or maximum (GX fails those:
# the minimum of nothing is undefined). On an empty table they are reported, not run: GX costs
# about 0.4 s per suite whatever the rows, and a Higgs day has six empty Stack Exchange partitions.
# What an empty table can still get wrong is checked: its columns, their types, its row count.
_VACUOUS_ON_ZERO_ROWS = frozenset({
    "expect_column_min_to_be_between",
    "expect_column_max_to_be_between",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
    "expect_column_pair_values_to_be_equal",
})


def _run_suite(
    validator: _Validator,
    run_name: str,
    spec: SuiteSpec,
    table: pd.DataFrame | str,
    rows: int,
    parameters: dict[str, Any],
    context: dict[str, str],
) -> list[CheckResult]:
    vacuous: list[CheckResult] = []
    if rows == 0:
        spec, removed = spec.split(_VACUOUS_ON_ZERO_ROWS)
        vacuous = _passed_without_running(run_name, removed, "vacuous: 0 rows")
    validation = validator.run(run_name, spec, table, parameters)
    return _collect(run_name, validation, context) + vacuous


def _docs_dir(paths: Paths, day: datetime.date, stage: str) -> Path:
    """``<runs>/gx_data_docs/<day>/<stage>/``, emptied first so a re-run shows only its own results."""
    directory = paths.runs / DATA_DOCS_DIRNAME / day.isoformat() / stage
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


def _day_bounds(day: datetime.date) -> dict[str, Any]:
    """The suites' day parameters, for GX's SQL engine (every suite that uses them runs there):
    plain datetime values, which GX compares with what DuckDB returns (datetime.date for a DATE
    minimum) and renders into SQL (SQLAlchemy has no literal renderer for a pandas Timestamp).
    The day is rebuilt as a plain date: the DAG's days are pendulum Dates, and GX's comparison of
    DuckDB's DATE minimum with a pendulum Date fails with no details."""
    day = datetime.date(day.year, day.month, day.day)
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.timezone.utc)
    return {"day_start_utc": start, "day_end_utc": start + datetime.timedelta(days=1), "partition_day": day}


# --------------------------------------------------------------------------- raw


def _networks(raw_dir: Path) -> list[str]:
    if not raw_dir.is_dir():
        return []
    return sorted(p.name for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _rows_in_partition(directory: Path) -> int | None:
    """Rows of a past partition: the manifest's rows_written, else the Parquet footer."""
    import pyarrow.parquet as pq

    manifest = directory / MANIFEST_FILE
    try:
        return int(json.loads(manifest.read_text())["rows_written"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return pq.ParquetFile(directory / PARQUET_FILE).metadata.num_rows
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class _VolumeBaseline:
    days: int
    median: float
    max_ratio: float

    def parameters(self) -> dict[str, Any]:
        # A zero median (a quiet site) has no meaningful ratio: only the lower bound 0 applies.
        upper = self.median * self.max_ratio if self.median > 0 else None
        return {"volume_min": self.median / self.max_ratio, "volume_max": upper}

    def describe(self) -> str:
        bounds = self.parameters()
        upper = "unbounded" if bounds["volume_max"] is None else f"{bounds['volume_max']:g}"
        return (
            f"trailing median {self.median:g} rows over {self.days} day(s), "
            f"flagged outside {bounds['volume_min']:g}–{upper}"
        )


def _volume_baseline(
    raw_dir: Path, network: str, entity: str, day: datetime.date, trailing_days: int, max_ratio: float
) -> _VolumeBaseline | None:
    counts = []
    for back in range(1, trailing_days + 1):
        directory = partition_dir(raw_dir, network, entity, day - datetime.timedelta(days=back))
        if directory.is_dir():
            rows = _rows_in_partition(directory)
            if rows is not None:
                counts.append(rows)
    if not counts:
        return None
    return _VolumeBaseline(len(counts), float(statistics.median(counts)), max_ratio)


def _checksums_well_formed(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_SHA256.match(value))
    if isinstance(value, dict):
        return bool(value) and all(isinstance(v, str) and _SHA256.match(v) for v in value.values())
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) and _SHA256.match(v) for v in value)
    return False


def _quarantined_rows(quarantine_dir: Path, network: str, entity: str, day: datetime.date) -> tuple[int | None, bool]:
    """(rows in the day's quarantine partition, readable): 0 rows when there is none (the
    extractor writes one only when rows were rejected)."""
    import pyarrow.parquet as pq

    path = partition_dir(quarantine_dir, network, entity, day) / PARQUET_FILE
    if not path.is_file():
        return 0, True
    try:
        return pq.ParquetFile(path).metadata.num_rows, True
    except (OSError, ValueError):
        return None, False


def _manifest_row(
    raw_dir: Path, quarantine_dir: Path, network: str, entity: str, day: datetime.date
) -> tuple[dict[str, Any], str | None]:
    """One row of the manifest frame and, when the manifest cannot be used, why (one line)."""
    import pyarrow.parquet as pq

    directory = partition_dir(raw_dir, network, entity, day)
    quarantined, quarantine_readable = _quarantined_rows(quarantine_dir, network, entity, day)
    row: dict[str, Any] = {
        "network": network,
        "entity": entity,
        "network_extracted_today": True,
        "partition_present": (directory / PARQUET_FILE).is_file(),
        "manifest_readable": False,
        "rows_read": None,
        "rows_written": None,
        "rows_rejected": None,
        "rows_skipped": None,
        "rows_accounted": None,
        "rejected_by_reason_total": None,
        "parquet_rows": None,
        "quarantined_rows": quarantined,
        "quarantine_readable": quarantine_readable,
        "source_checksums_well_formed": None,
    }
    if row["partition_present"]:
        try:
            row["parquet_rows"] = pq.ParquetFile(directory / PARQUET_FILE).metadata.num_rows
        except (OSError, ValueError) as error:
            row["partition_present"] = False
            return row, f"{directory / PARQUET_FILE}: unreadable Parquet ({_one_line(error, 100)})"
    manifest_path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text())
        row["rows_read"] = int(manifest["rows_read"])
        row["rows_written"] = int(manifest["rows_written"])
        row["rows_rejected"] = int(manifest.get("rows_rejected", 0))
        row["rows_skipped"] = int(manifest.get("rows_skipped", 0))
        row["rejected_by_reason_total"] = int(sum((manifest.get("rejected_by_reason") or {}).values()))
        row["source_checksums_well_formed"] = _checksums_well_formed(manifest.get("source_sha256"))
    except FileNotFoundError:
        return row, f"{manifest_path}: missing"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return row, f"{manifest_path}: unusable manifest ({_one_line(error, 100)})"
    row["rows_accounted"] = row["rows_written"] + row["rows_rejected"] + row["rows_skipped"]
    row["manifest_readable"] = True
    return row, None


def _stale_network_row(network: str) -> dict[str, Any]:
    """A network seen in the trailing days but not today: only network_extracted_today is set,
    every other check ignores the row (GX skips nulls)."""
    return {"network": network, "entity": None, "network_extracted_today": False}


def validate_raw(day: datetime.date, paths: Paths) -> QualityReport:
    """Validate every raw partition of ``day`` (all networks, all entities) and the manifests."""
    manifest_spec = load_suite("raw_manifests")
    lookback_days = int(manifest_spec.meta.get("stale_network_lookback_days", 7))
    validator = _Validator(_docs_dir(paths, day, "raw"), "raw_partitions")
    try:
        return _validate_raw(validator, manifest_spec, lookback_days, day, paths)
    finally:
        validator.close()


def _validate_raw(
    validator: _Validator, manifest_spec: SuiteSpec, lookback_days: int, day: datetime.date, paths: Paths
) -> QualityReport:
    import pandas as pd

    started = time.perf_counter()
    bounds = _day_bounds(day)
    results: list[CheckResult] = []
    notes: list[str] = []
    manifest_rows: list[dict[str, Any]] = []

    for network in _networks(paths.raw):
        present = [e for e in RAW_ENTITIES if partition_dir(paths.raw, network, e, day).is_dir()]
        if not present:
            recent = any(
                partition_dir(paths.raw, network, entity, day - datetime.timedelta(days=back)).is_dir()
                for entity in RAW_ENTITIES
                for back in range(1, lookback_days + 1)
            )
            if recent:
                manifest_rows.append(_stale_network_row(network))
            continue
        source = source_of_network(network)
        for entity in RAW_ENTITIES:
            row, manifest_problem = _manifest_row(paths.raw, paths.quarantine, network, entity, day)
            manifest_rows.append(row)
            suite_name = f"raw_{network}_{entity}"
            if manifest_problem:
                notes.append(manifest_problem)
            if not row["partition_present"]:
                # Reported by raw_manifests (partition_present); nothing to validate here.
                continue
            if source is None:
                results.append(
                    CheckResult(suite_name, "suite for network", "error", False,
                                f"no raw suite for network {network!r} (known: twitter, se_*, syn_*)")
                )
                continue
            results.extend(_validate_partition(validator, paths.raw, source, network, entity, day, bounds))

    manifest_frame = pd.DataFrame(manifest_rows, columns=list(_manifest_columns()))
    validation = validator.run(manifest_spec.name, manifest_spec, manifest_frame, {})
    manifest_results = _collect(manifest_spec.name, validation, {})
    # Name the unusable files next to the failed completeness checks.
    manifest_results = [_with_notes(r, notes) for r in manifest_results]
    results.extend(manifest_results)
    docs = validator.build_docs()
    return QualityReport("raw", day, results, docs, time.perf_counter() - started, notes)


def _with_notes(result: CheckResult, notes: list[str]) -> CheckResult:
    if result.success or not notes or not any(c in result.check for c in ("partition_present", "manifest_readable")):
        return result
    return replace(result, observed=_one_line(f"{result.observed}; {'; '.join(notes)}", 400))


def _manifest_columns() -> tuple[str, ...]:
    return (
        "network", "entity", "network_extracted_today", "partition_present", "manifest_readable",
        "rows_read", "rows_written", "rows_rejected", "rows_skipped", "rows_accounted",
        "rejected_by_reason_total", "parquet_rows", "quarantined_rows", "quarantine_readable",
        "source_checksums_well_formed",
    )


def _validate_partition(
    validator: _Validator,
    raw_dir: Path,
    source: str,
    network: str,
    entity: str,
    day: datetime.date,
    bounds: dict[str, Any],
) -> list[CheckResult]:
    import duckdb
    import pyarrow.parquet as pq

    suite_name = f"raw_{network}_{entity}"
    spec = load_suite(f"raw_{source}_{entity}")
    path = partition_dir(raw_dir, network, entity, day) / PARQUET_FILE
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
        validator.add_parquet_view(suite_name, path)
    except (OSError, ValueError, duckdb.Error) as error:
        return [CheckResult(suite_name, "read partition", "error", False,
                            _one_line(f"{path}: unreadable Parquet ({error})", 300))]
    parameters: dict[str, Any] = {**bounds, "partition_network": [network]}
    context: dict[str, str] = {}
    skipped: list[CheckResult] = []
    if spec.requiring("trailing_days"):
        settings = spec.meta.get("volume_baseline", {})
        trailing_days = int(settings.get("trailing_days", 7))
        baseline = _volume_baseline(
            raw_dir, network, entity, day, trailing_days, float(settings.get("max_ratio", 10))
        )
        # Below a floor, a 10x ratio is noise (a quiet site going from 2 to 25 events), not a feed problem.
        floor = float(settings.get("min_median_rows", 0))
        if baseline is not None and baseline.median >= floor:
            parameters.update(baseline.parameters())
            context["trailing_days"] = baseline.describe()
        else:
            reason = (
                f"no partition in the {trailing_days} days before {day}"
                if baseline is None
                else f"trailing median {baseline.median:g} rows is below the {floor:g}-row floor"
            )
            skipped = _not_compared(suite_name, spec, "trailing_days", reason)
            spec = spec.without_requirement("trailing_days")
    return _run_suite(validator, suite_name, spec, suite_name, rows, parameters, context) + skipped


# --------------------------------------------------------------------------- marts

# The working warehouse's name in the scratch database of the mart checks.
WAREHOUSE_ALIAS = "warehouse"


def validate_marts(day: datetime.date, paths: Paths) -> QualityReport:
    """Validate the marts of ``day`` in the working warehouse (attached read-only) against the
    previous day's rows. Marts keyed by model version (a new version is built beside the
    published one) are validated one version at a time, each against its own previous day."""
    specs = [load_suite(p.stem) for p in sorted(EXPECTATIONS_DIR.glob("marts_*.json"))]
    validator = _Validator(_docs_dir(paths, day, "marts"), "marts")
    try:
        return _validate_marts(validator, specs, day, paths)
    finally:
        validator.close()


def _validate_marts(validator: _Validator, specs: list[SuiteSpec], day: datetime.date, paths: Paths) -> QualityReport:
    import duckdb

    started = time.perf_counter()
    results: list[CheckResult] = []
    if not paths.warehouse.is_file():
        results.append(CheckResult("marts", "open warehouse", "error", False, f"{paths.warehouse}: missing"))
        return QualityReport("marts", day, results, validator.build_docs(), time.perf_counter() - started)
    try:
        validator.attach_read_only(WAREHOUSE_ALIAS, paths.warehouse)
    except duckdb.Error as error:
        results.append(CheckResult("marts", "open warehouse", "error", False,
                                   _one_line(f"{paths.warehouse}: cannot open read-only ({error})", 300)))
        return QualityReport("marts", day, results, validator.build_docs(), time.perf_counter() - started)
    for spec in specs:
        results.extend(_validate_mart(validator, spec, day))
    docs = validator.build_docs()
    return QualityReport("marts", day, results, docs, time.perf_counter() - started)


@dataclass(frozen=True)
class _MartRows:
    """The rows of one mart validated together: one day, and one model version when the day
    holds several (``version_column`` set; ``version`` None selects the rows without one)."""

    relation: str  # the mart in the attached warehouse, quoted
    day_column: str
    version_column: str | None = None
    version: Any = None

    def of_day(self, day: datetime.date, *, row_id: bool = False) -> str:
        """The query of the rows of ``day``; with ``row_id``, each row's DuckDB rowid first, as
        ``_ROW_ID`` (stable between the scans of one query; the marts are tables, which have one)."""
        condition = f"{_sql_name(self.day_column)} = date '{day.isoformat()}'"
        if self.version_column is not None:
            column = _sql_name(self.version_column)
            condition += (f" and {column} is null" if self.version is None
                          else f" and {column} = {_sql_string(str(self.version))}")
        return f"select {f'rowid as {_ROW_ID}, ' if row_id else ''}* from {self.relation} where {condition}"


# The row identity that joins the rank helpers, computed on the few columns they need, back to
# the day's rows (a window sorts every column it carries: on 3M rows of fct_person_scores the
# narrow computation took 7.5 s and 1.7 GB instead of 9.3 s and 2.7 GB).
_ROW_ID = "__influence_row_id"


@dataclass
class _MartQuery:
    """The query that builds the validated table: the day's rows (``today``) plus helper columns,
    each helper adding common table expressions, select items and joins."""

    today: str  # with _ROW_ID first
    ctes: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)

    def sql(self) -> str:
        ctes = "".join(f", {cte}" for cte in self.ctes)
        return (f"with today as not materialized ({self.today}){ctes} "
                f"select {', '.join([f'today.* exclude ({_ROW_ID})', *self.items])} from today{''.join(' ' + j for j in self.joins)}")


def _validate_mart(validator: _Validator, spec: SuiteSpec, day: datetime.date) -> list[CheckResult]:
    import duckdb

    table = spec.meta["table"]
    day_column = spec.meta["day_column"]
    version_column = spec.meta.get("version_column")
    relation = f"{_sql_name(WAREHOUSE_ALIAS)}.marts.{_sql_name(table)}"
    try:
        columns = [row[0] for row in validator.execute(f"describe select * from {relation}")]
        versions: list[Any] = []
        if version_column and version_column in columns:
            versions = [row[0] for row in validator.execute(
                f"select distinct {_sql_name(version_column)} from {relation} "
                f"where {_sql_name(day_column)} = ? order by 1 nulls last",
                [day],
            )]
    except duckdb.Error as error:
        return [CheckResult(spec.name, f"read marts.{table}", "error", False, _one_line(str(error), 300))]
    if versions:
        # Each version against the previous day's rows of that version only, even when the day
        # holds one: the day after a new version was built beside the published one holds both.
        selections = [(f"{spec.name}@{'missing' if version is None else version}" if len(versions) > 1 else spec.name,
                       _MartRows(relation, day_column, version_column, version)) for version in versions]
    else:  # no version column, or no rows: the day as a whole (an empty day fails its row count)
        selections = [(spec.name, _MartRows(relation, day_column))]
    results: list[CheckResult] = []
    for index, (run_name, rows) in enumerate(selections):
        try:
            results.extend(_validate_mart_version(validator, spec, run_name, index, rows, columns, day))
        except duckdb.Error as error:
            results.append(CheckResult(run_name, f"read marts.{table}", "error", False, _one_line(str(error), 300)))
    return results


def _validate_mart_version(
    validator: _Validator,
    spec: SuiteSpec,
    run_name: str,
    index: int,
    rows: _MartRows,
    columns: list[str],
    day: datetime.date,
) -> list[CheckResult]:
    """Validate ``rows`` of ``day`` as the table ``<run name>_<index>`` of the scratch database:
    the mart's columns plus the helper columns, computed by DuckDB once (GX queries the table some
    thirty times; as a view, each query recomputed the helpers' windows). Raises duckdb.Error."""
    parameters = _day_bounds(day)
    context: dict[str, str] = {}
    skipped: list[CheckResult] = []
    query = _MartQuery(rows.of_day(day, row_id=True))
    if "rank" in spec.meta:
        _rank_helpers(query, spec.meta["rank"], columns)
    if spec.requiring("previous_day"):
        previous = rows.of_day(day - datetime.timedelta(days=1))
        (previous_count,), = validator.execute(f"select count(*) from ({previous})")
        if previous_count == 0:
            skipped = _not_compared(run_name, spec, "previous_day", "no rows for the previous day")
            spec = spec.without_requirement("previous_day")
        else:
            settings = spec.meta["previous_day"]
            _previous_day_helpers(validator, query, rows.of_day(day), previous, settings, columns)
            change = float(settings.get("persons_max_change", 0.5))
            parameters.update({"persons_min": previous_count * (1 - change),
                               "persons_max": previous_count * (1 + change)})
            context["previous_day"] = f"previous day {previous_count} rows"
    table = re.sub(r"[^0-9A-Za-z_]", "_", run_name) + f"_{index}"
    validator.create_table(table, query.sql())
    (count,), = validator.execute(f"select count(*) from {_sql_name(table)}")
    return _run_suite(validator, run_name, spec, table, count, parameters, context) + skipped


def _rank_helpers(query: _MartQuery, rank: dict[str, Any], columns: list[str]) -> None:
    """Add the rank-versus-score helper columns to ``query``, within each partition of
    ``rank["partition_by"]``.

    Walking a partition in rank order (ties by score descending) the score never increases
    (``rank_order_consistent``); rows sharing a rank share a score (``rank_tie_same_score``);
    ranks have no gaps (``rank_without_gap``: rank <= number of distinct ranks). This holds for
    both a dense rank and a row_number tie-broken by id, and fails for a skipping RANK().
    Null ranks and scores sort last and are no distinct value; a null score after a non-null one,
    and a null rank, are violations. Without one of the columns, no helper column: their checks
    then fail as missing columns.
    """
    rank_column, score_column = rank["column"], rank.get("score_column", "score")
    partition_by = list(rank.get("partition_by", []))
    if not {rank_column, score_column, *partition_by} <= set(columns):
        return
    partition = [_sql_name(c) for c in partition_by]
    r, s = _sql_name(rank_column), _sql_name(score_column)
    # The distinct ranks per partition as a grouped count joined back: DuckDB's count(distinct)
    # over a whole-table window took 8x as long on 3M rows.
    query.ctes.append(
        f"distinct_ranks as (select {''.join(f'{c}, ' for c in partition)}count(distinct {r}) as ranks "
        f"from today group by all)"
    )

    within = f"partition by {', '.join(f'ranked_rows.{c}' for c in partition)}" if partition else ""
    walk = f"({within} order by ranked_rows.{r} asc nulls last, ranked_rows.{s} desc nulls last)"
    rank_group = f"(partition by {', '.join(f'ranked_rows.{c}' for c in [*partition, r])})"
    join = (
        "join distinct_ranks on "
        + " and ".join(f"ranked_rows.{c} is not distinct from distinct_ranks.{c}" for c in partition)
        if partition else "cross join distinct_ranks"
    )
    previous_score = f"lag(ranked_rows.{s}) over {walk}"
    helpers = [
        f"coalesce(ranked_rows.{s} <= {previous_score}, {previous_score} is null) as rank_order_consistent",
        f"coalesce(min(ranked_rows.{s}) over {rank_group} = max(ranked_rows.{s}) over {rank_group}, true) "
        f"as rank_tie_same_score",
        f"coalesce(ranked_rows.{r} <= distinct_ranks.ranks, false) as rank_without_gap",
    ]
    narrow = ", ".join([_ROW_ID, *partition, r, s])
    query.ctes.append(
        f"rank_helpers as (select ranked_rows.{_ROW_ID}, {', '.join(helpers)} "
        f"from (select {narrow} from today) as ranked_rows {join})"
    )
    query.items += [f"rank_helpers.{name}" for name in ("rank_order_consistent", "rank_tie_same_score", "rank_without_gap")]
    query.joins.append(f"join rank_helpers on rank_helpers.{_ROW_ID} = today.{_ROW_ID}")


def _previous_day_helpers(
    validator: _Validator, query: _MartQuery, today: str, previous: str, settings: dict[str, Any], columns: list[str]
) -> None:
    """Add to ``query`` |score change| per key present on both days (null when not on the
    previous day; any one previous row of a duplicated key) and the PSI of today's scores over
    the previous day's quantiles (constant column). ``today`` and ``previous`` are the queries of
    the two days' rows. Without the key or score column, no helper column: their checks then fail
    as missing columns."""
    key, score = settings["key"], settings.get("score_column", "score")
    if not {key, score} <= set(columns):
        return
    k, s = _sql_name(key), _sql_name(score)
    psi = _population_stability_index(validator, today, previous, score, int(settings.get("psi_bins", 10)))
    query.ctes.append(
        f"previous_day as (select {k} as previous_key, any_value(cast({s} as double)) as previous_score "
        f"from ({previous}) group by all)"
    )
    query.items += [
        f"abs(cast(today.{s} as double) - previous_day.previous_score) as score_change_abs",
        f"cast({_sql_string(repr(psi))} as double) as psi_vs_previous_day",
    ]
    query.joins.append(f"left join previous_day on today.{k} = previous_day.previous_key")


def _population_stability_index(validator: _Validator, today: str, previous: str, score: str, bins: int) -> float:
    """PSI of today's scores against the previous day's, over the previous day's quantile bins
    (deciles by default); empty bins get a floor share so the log stays finite. ``today`` and
    ``previous`` are queries. Only small results leave DuckDB: the 2 x (bins - 1) order statistics
    the quantile edges interpolate between, and the bin counts. The same number as NumPy's
    ``np.quantile`` edges and ``np.histogram`` counts over the two columns (tested): the edges
    are interpolated here exactly as ``np.quantile`` does. Nulls (and NaN) fall in no bin."""
    value = f"cast({_sql_name(score)} as double)"
    valid = f"{value} is not null and not isnan({value})"
    (previous_rows, previous_values), = validator.execute(
        f"select count(*), count(*) filter (where {valid}) from ({previous})"
    )
    lower, upper, gamma = _quantile_positions(previous_values, bins)
    positions = sorted({*lower.tolist(), *upper.tolist()})
    order_statistics = dict(validator.execute(
        f"select position, value from (select {value} as value, row_number() over (order by {value}) - 1 "
        f"as position from ({previous}) where {valid}) where position in ({', '.join(['?'] * len(positions))})",
        positions,
    )) if positions else {}
    edges = _quantile_edges(order_statistics, lower, upper, gamma)
    (today_rows,), = validator.execute(f"select count(*) from ({today})")
    today_counts = _bin_counts(validator, today, value, valid, edges)
    previous_counts = _bin_counts(validator, previous, value, valid, edges)
    return _psi_from_counts(today_counts, today_rows, previous_counts, previous_rows)


def _quantile_positions(values: int, bins: int) -> tuple[Any, Any, Any]:
    """For ``np.quantile(x, q)`` (method "linear") of ``values`` sorted values at the inner
    quantiles q = 1/bins .. (bins-1)/bins: the positions of the order statistics each quantile
    interpolates between and the weight of the upper one, computed as NumPy computes them."""
    import numpy as np

    if values == 0:
        empty = np.array([], dtype=np.intp)
        return empty, empty, np.array([], dtype=float)
    quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    virtual = (values - 1) * quantiles
    lower = np.floor(virtual)
    gamma = virtual - lower
    upper = lower + 1
    above = virtual >= values - 1  # NumPy takes the last value there
    lower[above] = values - 1
    upper[above] = values - 1
    return lower.astype(np.intp), upper.astype(np.intp), gamma


def _quantile_edges(order_statistics: dict[int, float], lower: Any, upper: Any, gamma: Any) -> Any:
    """The distinct inner bin edges: NumPy's linear interpolation (``_lerp``, the same floating
    point operations, so an edge that equals a score stays equal to it)."""
    import numpy as np

    a = np.array([order_statistics[int(i)] for i in lower], dtype=float)
    b = np.array([order_statistics[int(i)] for i in upper], dtype=float)
    difference = b - a
    edges = np.where(gamma >= 0.5, b - difference * (1 - gamma), a + difference * gamma)
    return np.unique(edges)


def _bin_counts(validator: _Validator, query: str, value: str, valid: str, edges: Any) -> Any:
    """Values of ``query`` per bin (-inf, e1), [e1, e2), ..., [ek, inf] as ``np.histogram``
    counts them over ``edges`` bounded by -inf and inf."""
    import numpy as np

    cases = " ".join(f"when {value} < ? then {i}" for i in range(len(edges)))
    bin_of = f"case {cases} else {len(edges)} end" if len(edges) else "0"
    counts = np.zeros(len(edges) + 1, dtype=np.int64)
    for position, rows in validator.execute(
        f"select {bin_of} as bin, count(*) from ({query}) where {valid} group by bin",
        [float(e) for e in edges],
    ):
        counts[position] = rows
    return counts


def _psi_from_counts(current: Any, current_rows: int, previous: Any, previous_rows: int) -> float:
    """PSI from bin counts; shares of all rows (nulls included), floored at 1e-4."""
    import numpy as np

    floor = 1e-4
    current_share = np.clip(np.asarray(current) / max(current_rows, 1), floor, None)
    previous_share = np.clip(np.asarray(previous) / max(previous_rows, 1), floor, None)
    return float(np.sum((current_share - previous_share) * np.log(current_share / previous_share)))
