{#- Shared body of the stg_<source>__events models: rename/cast the raw columns of the run day's
    partition and keep one row per (network, event_id). `event_id_occurrences` records how many raw
    rows carried that id, so the row accounting downstream can reconcile with the raw row count
    without reading the source again. -#}
{% macro stage_events(source_relation) -%}
with partition_rows as (
    select *
    from {{ source_relation }}
    where dt = {{ run_date() }}
),

typed as (
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
        source_line::bigint                                 as source_line,
        count(*) over (partition by network, event_id)      as event_id_occurrences,
        row_number() over (
            partition by network, event_id order by source_file, source_line
        )                                                   as occurrence_rank
    from partition_rows
)

select * exclude (occurrence_rank)
from typed
where occurrence_rank = 1
{%- endmacro %}
