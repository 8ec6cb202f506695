-- Row accounting, per network and tested day: every raw row read is either accepted or dropped
-- with a reason, and the rows read equal the rows in the raw Parquet partition.
with raw_counts as (
    {%- for source_name in ['raw_higgs', 'raw_stackexchange', 'raw_synthetic'] %}
    {{ 'union all' if not loop.first }}
    select network, dt as activity_date, count(*) as raw_rows
    from {{ raw_day(source_name, 'events', tested_days=true) }}
    where dt between {{ test_start_date() }} and {{ run_date() }}
    group by network, dt
    {%- endfor %}
),

accounting as (
    select * from {{ ref('int_row_accounting') }}
    where activity_date between {{ test_start_date() }} and {{ run_date() }}
)

select
    coalesce(raw_counts.network, accounting.network) as network,
    coalesce(raw_counts.activity_date, accounting.activity_date) as activity_date,
    raw_counts.raw_rows,
    accounting.rows_read,
    accounting.rows_accepted
      + accounting.rows_dropped_duplicate_event_id + accounting.rows_dropped_outside_run_day
      + accounting.rows_dropped_unknown_event_type + accounting.rows_dropped_community_account
      + accounting.rows_dropped_self_interaction + accounting.rows_dropped_missing_target as rows_accounted
from raw_counts
full join accounting using (network, activity_date)
where coalesce(raw_counts.raw_rows, 0) <> coalesce(accounting.rows_read, 0)
   or coalesce(accounting.rows_read, 0) <> coalesce(rows_accounted, 0)
