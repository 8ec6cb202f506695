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
-- are found with a hash aggregate over the two key columns only, and only their rows are ranked.
-- A window over every event (count and row_number partitioned by the key) sorted all columns of
-- all rows: 24 of the 60 s of int_events_classified at 10M events.
duplicate_ids as materialized (
    select network::varchar as network, event_id::varchar as event_id, count(*) as event_id_occurrences
    from partition_rows
    group by all
    having count(*) > 1
),

first_of_duplicates as (
    select typed.*, duplicate_ids.event_id_occurrences
    from typed
    join duplicate_ids using (network, event_id)
    qualify row_number() over (partition by network, event_id order by source_file, source_line) = 1
)

select typed.*, 1::bigint as event_id_occurrences
from typed
anti join duplicate_ids using (network, event_id)
union all by name
select * from first_of_duplicates
{%- endmacro %}
