{#- Shared body of the stg_<source>__events models: rename/cast the raw columns of the run day's
    partition and keep one row per (network, event_id). `event_id_occurrences` records how many raw
    rows carried that id, so the row accounting downstream can reconcile with the raw row count
    without reading the source again. -#}
{% macro stage_events(source_relation) -%}
with partition_rows as not materialized (
    select *
    from {{ source_relation }}
    where dt = {{ run_date() }}
),

-- inlined into each reader: DuckDB would otherwise materialise every typed event once more
typed as not materialized (
    select
        network::varchar                                    as network,
        event_id::varchar                                   as event_id,
        lower(event_type)::varchar                          as event_type,
        actor_account_id::varchar                           as actor_account_id,
        target_account_id::varchar                          as target_account_id,
        target_post_id::varchar                             as target_post_id,
        post_id::varchar                                    as post_id,
        -- naive timestamp in UTC: comparisons with dates never depend on a session time zone
        timezone('UTC', occurred_at::timestamptz)           as occurred_at,
        dt::date                                            as partition_date,
        source_file::varchar                                as source_file,
        source_line::bigint                                 as source_line
    from partition_rows
),

-- Duplicated ids are rare (a stray repeated input line; none at all in most partitions), so they
-- are found with a hash aggregate over the two key columns only, and only their rows are looked at
-- again: the first line of each (by source_file, source_line) is kept. A window over every event
-- (count and row_number partitioned by the key) sorted all columns of all rows: 24 of the 60 s of
-- int_events_classified at 10M events. One input line is one row, so (source_file, source_line)
-- identifies a row; a partition breaking that keeps both copies and fails the row accounting test.
-- (Not a UNION of the unique rows and the first duplicates: DuckDB 1.5 never finishes streaming
-- such a query's result to a client, though CREATE TABLE AS it, as dbt does, works.)
duplicate_ids as (
    select network::varchar as network, event_id::varchar as event_id, count(*) as event_id_occurrences
    from partition_rows
    group by all
    having count(*) > 1
),

first_lines as (
    select network, event_id, duplicate_ids.event_id_occurrences, min((source_file, source_line)) as first_line
    from typed
    join duplicate_ids using (network, event_id)
    group by all
)

select typed.*, coalesce(first_lines.event_id_occurrences, 1) as event_id_occurrences
from typed
left join first_lines using (network, event_id)
where first_lines.event_id is null or (typed.source_file, typed.source_line) = first_lines.first_line
{%- endmacro %}
