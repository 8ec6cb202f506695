{#- Shared body of the stg_<source>__events models: the run day's partition, renamed and cast.
    Duplicated event ids are kept here and resolved in int_events_classified, the first table the
    day's events are written to (see there). -#}
{% macro stage_events(source_relation) -%}
with partition_rows as (
    select *
    from {{ source_relation }}
    where dt = {{ run_date() }}
)

select
    network::varchar                                    as network,
    event_id::varchar                                   as event_id,
    lower(event_type)::varchar                          as event_type,
    actor_account_id::varchar                           as actor_account_id,
    target_account_id::varchar                          as target_account_id,
    target_post_id::varchar                             as target_post_id,
    post_id::varchar                                    as post_id,
    {{ utc_timestamp('occurred_at') }}                  as occurred_at,
    dt::date                                            as partition_date,
    source_file::varchar                                as source_file,
    source_line::bigint                                 as source_line
from partition_rows
{%- endmacro %}
