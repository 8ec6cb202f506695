-- Stack Exchange AccountId links of the run day's snapshot, one row per (network, account_id).
with snapshot_rows as (
    select *
    from {{ source('raw_stackexchange', 'identity_links') }}
    where dt = {{ run_date() }}
)

select
    network::varchar               as network,
    account_id::varchar            as account_id,
    identity_namespace::varchar    as identity_namespace,
    identity_key::varchar          as identity_key
from snapshot_rows
qualify row_number() over (partition by network, account_id order by identity_namespace, identity_key) = 1
