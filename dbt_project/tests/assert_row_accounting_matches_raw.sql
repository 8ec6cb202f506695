-- Row accounting, per network, for the run day: every raw row read is either accepted or dropped
-- with a reason, and the rows read equal the rows in the raw Parquet partition.
with raw_counts as (
    select network, count(*) as raw_rows
    from {{ raw_day('raw_higgs', 'events') }}
    where dt = {{ run_date() }}
    group by network
    union all
    select network, count(*)
    from {{ raw_day('raw_stackexchange', 'events') }}
    where dt = {{ run_date() }}
    group by network
    union all
    select network, count(*)
    from {{ raw_day('raw_synthetic', 'events') }}
    where dt = {{ run_date() }}
    group by network
),

accounting as (
    select * from {{ ref('int_row_accounting') }}
    where activity_date = {{ run_date() }}
)

select
    coalesce(raw_counts.network, accounting.network) as network,
    raw_counts.raw_rows,
    accounting.rows_read,
    accounting.rows_accepted
      + accounting.rows_dropped_duplicate_event_id + accounting.rows_dropped_outside_run_day
      + accounting.rows_dropped_unknown_event_type + accounting.rows_dropped_community_account
      + accounting.rows_dropped_self_interaction + accounting.rows_dropped_missing_target as rows_accounted
from raw_counts
full join accounting using (network)
where coalesce(raw_counts.raw_rows, 0) <> coalesce(accounting.rows_read, 0)
   or coalesce(accounting.rows_read, 0) <> coalesce(rows_accounted, 0)
