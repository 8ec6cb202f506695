"""Helpers for the quality tests: paths in a tmp dir, rewriting a real partition, and a small
working warehouse whose person-score mart is computed from real Higgs rows."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from influence.settings import Paths

JULY_1 = datetime.date(2012, 7, 1)
JULY_2 = datetime.date(2012, 7, 2)
JULY_3 = datetime.date(2012, 7, 3)
JULY_4 = datetime.date(2012, 7, 4)


def make_paths(base: Path) -> Paths:
    return Paths.under(base)


def partition_file(paths: Paths, entity: str, day: datetime.date = JULY_2, network: str = "twitter") -> Path:
    return paths.raw / network / entity / f"dt={day.isoformat()}" / "part-0.parquet"


def rewrite_partition(path: Path, table: pa.Table, *, keep_manifest_consistent: bool = True) -> None:
    """Replace a partition's rows, adjusting its manifest's counts (as an extractor writing those
    rows would) unless the test is about the manifest itself."""
    pq.write_table(table, path)
    if keep_manifest_consistent:
        manifest_path = path.parent / "_manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["rows_written"] = table.num_rows
        manifest["rows_read"] = table.num_rows + manifest["rows_rejected"] + manifest.get("rows_skipped", 0)
        manifest_path.write_text(json.dumps(manifest))


# Interactions received in a day at which the toy score reaches 100; a fixed scale (not the day's
# maximum) keeps the scores of ordinary days comparable, as a real model's are.
SATURATION = 5000

PERSON_SCORES_SQL = """
create or replace table marts.fct_person_scores as
with received as (
    select cast(timezone('UTC', occurred_at) as date) as score_date,  -- the UTC day on any machine
           'twitter:' || target_account_id as person_id,
           count(*) as interactions
    from read_parquet($events)
    where actor_account_id <> target_account_id
    group by all
),
scored as (
    select *, least(100, round(1 + 99 * ln(1 + interactions) / ln(1 + $saturation), 2)) as score
    from received
)
select score_date, person_id, score,
       cast(dense_rank() over (partition by score_date order by score desc) as integer) as rank,
       round(100 * percent_rank() over (partition by score_date order by score), 2) as percentile,
       case when score >= 80 then 'exceptional' when score >= 60 then 'elite'
            when score >= 40 then 'reputable' when score >= 20 then 'emerging' else 'floor' end as tier,
       ['twitter'] as networks,
       '1.0.0' as model_version
from scored
"""


NETWORK_SCORES_SQL = """
create or replace table marts.fct_network_scores as
select score_date, 'twitter' as network, person_id as account_key, score,
       cast(row_number() over (partition by score_date order by score desc, person_id) as integer) as network_rank,
       percentile as network_percentile, tier, model_version
from marts.fct_person_scores
"""


def build_person_scores(higgs_raw: Path, warehouse: Path, days: tuple[datetime.date, ...]) -> None:
    """A small working warehouse whose marts.fct_person_scores ranks the real accounts of those
    days by interactions received (log-scaled to 1-100), dense-ranked like the contract says;
    marts.fct_network_scores holds the same scores per account, ranked by row_number like the
    dbt model does (Higgs has one network and no identity links, so accounts are persons)."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    files = [str(higgs_raw / "twitter" / "events" / f"dt={d.isoformat()}" / "part-0.parquet") for d in days]
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema if not exists marts")
        connection.execute(PERSON_SCORES_SQL, {"events": files, "saturation": SATURATION})
        connection.execute(NETWORK_SCORES_SQL)
