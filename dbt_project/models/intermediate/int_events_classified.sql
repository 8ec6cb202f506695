-- Every deduplicated event of the run day with its account keys, factor role and, for rows that
-- must not be scored, the reason they are dropped. Nothing is dropped silently: int_row_accounting
-- counts each reason per network and day.
-- The staging models are views over the raw Parquet (rename and cast only), so this is the first
-- table the day's events are written to: staging tables wrote 50M events a day twice at L (staging
-- and classification on L day 2: 94.6 s as tables, 50.3 s as views; reports/bench_notes.md,
-- twenty-fifth update).
with unioned_rows as not materialized (
    select * from {{ ref('int_events_unioned') }}
),

-- Duplicated ids are rare (a stray repeated input line; none at all in most partitions), so they
-- are found with a hash aggregate over the two key columns only, and only their rows are looked at
-- again: the first line of each (by source_file, source_line) is kept. A window over every event
-- (count and row_number partitioned by the key) sorted all columns of all rows: 24 of the 60 s of
-- this model at 10M events. One input line is one row, so (source_file, source_line) identifies a
-- row; a partition breaking that keeps both copies and fails the uniqueness test of this model.
-- (Not a UNION of the unique rows and the first duplicates: DuckDB 1.5 never finishes streaming
-- such a query's result to a client, though CREATE TABLE AS it, as dbt does, works.)
duplicate_ids as (
    select network, event_id, count(*) as event_id_occurrences
    from unioned_rows
    group by all
    having count(*) > 1
),

first_lines as (
    select network, event_id, duplicate_ids.event_id_occurrences, min((source_file, source_line)) as first_line
    from unioned_rows
    join duplicate_ids using (network, event_id)
    group by all
),

-- one row per (network, event_id); event_id_occurrences records how many raw rows carried the id,
-- so int_row_accounting reconciles with the raw row count without reading the source again
unioned as (
    select unioned_rows.*, coalesce(first_lines.event_id_occurrences, 1) as event_id_occurrences
    from unioned_rows
    left join first_lines using (network, event_id)
    where first_lines.event_id is null
       or (unioned_rows.source_file, unioned_rows.source_line) = first_lines.first_line
),

roles as (
    select * from {{ ref('event_type_roles') }}
)

-- Only the columns its readers use, plus event_id to trace a row back to staging: the account ids
-- are inside the keys, and writing the redundant columns cost a third of this table's write
-- (measured at 10M events: 13.2 s with them, 8.8 s without).
select
    unioned.network,
    unioned.event_id,
    unioned.event_type,
    unioned.target_post_id,
    unioned.occurred_at,
    unioned.event_id_occurrences,
    unioned.network || ':' || unioned.actor_account_id         as actor_key,
    unioned.network || ':' || unioned.target_account_id        as target_key,
    roles.factor_role,
    roles.type_weight,
    roles.creates_content,
    case
        when unioned.occurred_at < {{ run_date() }}
          or unioned.occurred_at >= {{ run_date() }} + interval 1 day        then 'outside_run_day'
        when roles.event_type is null                                         then 'unknown_event_type'
        -- the Stack Exchange "Community" bot (-1) owns wiki posts and automatic edits
        when unioned.network like 'se\_%' escape '\'
         and (unioned.actor_account_id = '-1' or unioned.target_account_id = '-1') then 'community_account'
        when unioned.actor_account_id = unioned.target_account_id            then 'self_interaction'
        when unioned.target_account_id is null and not roles.creates_content then 'missing_target'
    end                                                              as drop_reason
from unioned
left join roles on roles.event_type = unioned.event_type
