{#- Shared body of the stg_<source>__identity_links models: the run day's snapshot, typed, one row
    per (network, account_id). -#}
{% macro stage_identity_links(source_relation) -%}
with snapshot_rows as (
    select *
    from {{ source_relation }}
    where dt = {{ run_date() }}
)

select
    network::varchar               as network,
    account_id::varchar            as account_id,
    identity_namespace::varchar    as identity_namespace,
    identity_key::varchar          as identity_key
from snapshot_rows
qualify row_number() over (partition by network, account_id order by identity_namespace, identity_key) = 1
{%- endmacro %}
