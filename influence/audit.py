"""The run audit: one row per finished run (published or failed), kept in an append-only log.

Why a log under `data/runs/` and not only a table in the published database: a failed run must be
recorded without touching the published marts, and a run can fail before anything is published.
The log (`<runs>/run_audit.jsonl`, one JSON object per line, appended under an exclusive `flock`)
is the source of truth; every publish (and every recorded failure, see `pipeline.record_failure`)
rebuilds the published `run_audit` table from it.

Stage results come from the run directory `<runs>/<day>/<run id>/`: each pipeline stage writes
`<stage>.json` (status, seconds, details, error), so the audit row can be assembled by whichever
task ends the run, in whichever process it runs.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from influence.settings import MODEL_VERSION, Paths

if TYPE_CHECKING:
    import pyarrow as pa

AUDIT_LOG_NAME = "run_audit.jsonl"

# Stage order of the DAG; extract stages are named "extract-<source>".
STAGES = ("extract", "validate_raw", "dbt_build", "validate_marts", "publish")


def run_directory(paths: Paths, day: dt.date, run_id: str) -> Path:
    """Where one run's stage results, dbt logs and data docs go. Airflow run ids contain ':' and
    '+', which are awkward in paths and URLs; they are replaced, not dropped, so ids stay unique."""
    safe_run_id = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    return paths.runs / day.isoformat() / safe_run_id


def write_stage_result(run_dir: Path, stage: str, result: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / f"{stage}.json"
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=2, sort_keys=True, default=str))
    os.replace(temporary, target)


def read_stage_results(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The stage results of a run, by stage name (other JSON there, like dbt's run_results, is not one)."""
    if not run_dir.is_dir():
        return {}
    return {
        path.stem: json.loads(path.read_text())
        for path in sorted(run_dir.glob("*.json"))
        if path.stem in STAGES or path.stem.startswith("extract-")
    }


@dataclass
class AuditRow:
    run_id: str
    day: dt.date
    status: str  # "published" or "failed"
    failed_stage: str | None
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime
    sources: list[str] = field(default_factory=list)
    raw_events_by_network: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    mart_rows: dict[str, int] = field(default_factory=dict)
    persons_scored: int | None = None
    checks_passed: int = 0
    checks_warned: int = 0
    checks_failed: int = 0
    warning_checks: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    data_docs: list[str] = field(default_factory=list)
    model_version: str = MODEL_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)


def build_audit_row(
    *,
    run_id: str,
    day: dt.date,
    run_dir: Path,
    status: str,
    failed_stage: str | None = None,
    error: str | None = None,
    publish_details: dict[str, Any] | None = None,
) -> AuditRow:
    """Assemble the audit row from the stage results the run wrote so far."""
    stages = read_stage_results(run_dir)
    row = AuditRow(
        run_id=run_id,
        day=day,
        status=status,
        failed_stage=failed_stage,
        error=error,
        started_at=min(
            (dt.datetime.fromisoformat(s["started_at"]) for s in stages.values() if s.get("started_at")),
            default=None,
        ),
        finished_at=dt.datetime.now(dt.UTC),
    )
    for stage_name, stage in stages.items():
        row.stage_seconds[stage_name] = round(float(stage.get("seconds", 0.0)), 3)
        details = stage.get("details") or {}
        if stage_name.startswith("extract-"):
            row.sources.append(stage_name.removeprefix("extract-"))
            for manifest in details.get("manifests", []):
                row.rows_read += int(manifest.get("rows_read", 0))
                row.rows_quarantined += int(manifest.get("rows_rejected", 0))
                for reason, count in (manifest.get("rejected_by_reason") or {}).items():
                    row.quarantined_by_reason[reason] = row.quarantined_by_reason.get(reason, 0) + int(count)
                if manifest.get("entity") == "events":
                    network = manifest["network"]
                    row.raw_events_by_network[network] = row.raw_events_by_network.get(network, 0) + int(
                        manifest.get("rows_written", 0)
                    )
        for check in details.get("checks", []):
            label = f"{check['suite']}: {check['check']}"
            if check["success"]:
                row.checks_passed += 1
            elif check["severity"] == "error":
                row.checks_failed += 1
                row.failed_checks.append(f"{label} ({check['observed']})")
            else:
                row.checks_warned += 1
                row.warning_checks.append(f"{label} ({check['observed']})")
        if details.get("data_docs"):
            row.data_docs.append(str(details["data_docs"]))
    publish_details = publish_details or (stages.get("publish") or {}).get("details") or {}
    row.mart_rows = {name: int(count) for name, count in (publish_details.get("mart_rows") or {}).items()}
    row.persons_scored = publish_details.get("persons_scored")
    return row


def append_audit_row(paths: Paths, row: AuditRow, *, unless_recorded: bool = False) -> bool:
    """Append one line under an exclusive lock, so concurrent runs never interleave partial lines.
    With `unless_recorded`, skip it (and return False) if the log already holds a row of the same
    run, day and status: several tasks of one run may fail, and each reports the run's failure."""
    paths.runs.mkdir(parents=True, exist_ok=True)
    with open(paths.runs / AUDIT_LOG_NAME, "a+b") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        try:
            if unless_recorded:
                log.seek(0)
                key = (row.run_id, row.day.isoformat(), row.status)
                if any((r.get("run_id"), r.get("day"), r.get("status")) == key
                       for r in _parse_lines(log.read().decode("utf-8"))):
                    return False
            # A run killed mid-append leaves a line without its newline; end it so this row stays whole.
            torn = log.seek(0, os.SEEK_END) > 0 and os.pread(log.fileno(), 1, log.tell() - 1) != b"\n"
            log.write((("\n" if torn else "") + row.to_json() + "\n").encode("utf-8"))
            log.flush()
            os.fsync(log.fileno())
            return True
        finally:
            fcntl.flock(log, fcntl.LOCK_UN)


def read_audit_log(paths: Paths) -> list[dict[str, Any]]:
    """All audit rows, oldest first. A torn last line (a run killed mid-append) is skipped: it was
    never a complete record, and the killed run shows up in Airflow as failed anyway."""
    log_path = paths.runs / AUDIT_LOG_NAME
    return _parse_lines(log_path.read_text(encoding="utf-8")) if log_path.exists() else []


def _parse_lines(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def audit_arrow_table(rows: list[dict[str, Any]]) -> pa.Table:
    """The published `run_audit` table, typed (maps and lists, not JSON strings) for SQL users."""
    import pyarrow as pa

    counts = pa.map_(pa.string(), pa.int64())
    schema = pa.schema(
        [
            ("run_id", pa.string()),
            ("day", pa.date32()),
            ("status", pa.string()),
            ("failed_stage", pa.string()),
            ("error", pa.string()),
            ("started_at", pa.timestamp("us", tz="UTC")),
            ("finished_at", pa.timestamp("us", tz="UTC")),
            ("sources", pa.list_(pa.string())),
            ("raw_events_by_network", counts),
            ("rows_read", pa.int64()),
            ("rows_quarantined", pa.int64()),
            ("quarantined_by_reason", counts),
            ("mart_rows", counts),
            ("persons_scored", pa.int64()),
            ("checks_passed", pa.int64()),
            ("checks_warned", pa.int64()),
            ("checks_failed", pa.int64()),
            ("warning_checks", pa.list_(pa.string())),
            ("failed_checks", pa.list_(pa.string())),
            ("stage_seconds", pa.map_(pa.string(), pa.float64())),
            ("data_docs", pa.list_(pa.string())),
            ("model_version", pa.string()),
        ]
    )

    def timestamp(value: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(value) if value else None

    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for row in rows:
        for name in schema.names:
            value = row.get(name)
            if name == "day":
                value = dt.date.fromisoformat(value)
            elif name in ("started_at", "finished_at"):
                value = timestamp(value)
            elif isinstance(schema.field(name).type, pa.MapType):
                value = sorted((value or {}).items())
            columns[name].append(value)
    return pa.table(columns, schema=schema)
