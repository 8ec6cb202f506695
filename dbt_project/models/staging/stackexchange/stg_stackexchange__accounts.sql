-- Stack Exchange user snapshot of the run day, one row per (network, account_id).
with snapshot_rows as (
    select *
    from {{ raw_day('raw_stackexchange', 'accounts') }}
    where dt = {{ run_date() }}
)

select
    network::varchar                                    as network,
    account_id::varchar                                 as account_id,
    display_name::varchar                               as display_name,
    {{ utc_timestamp('created_at') }}                   as created_at,
    reputation::bigint                                  as reputation,
    followers_count::bigint                             as followers_count,
    snapshot_day::date                                  as snapshot_day
from snapshot_rows
-- a user row repeated in the dump: keep one, the same one on every run (the columns break the tie)
qualify row_number() over (
    partition by network, account_id
    order by snapshot_day desc, reputation desc nulls last, created_at, display_name
) = 1
