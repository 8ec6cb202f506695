{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='account_key') }}
-- One row per account ever seen (in events or in a source's account snapshot), with the person it
-- belongs to and its latest known attributes. Updated, not rebuilt, each day.

-- one row per account seen today, and whether it was active (a snapshot-only account was not):
-- one pass over the day's activity, not a second join back to it for the active flag
with seen_today as (
    select account_key, any_value(network) as network, bool_or(active_today) as active_today
    from (
        select network, account_key, true as active_today
        from {{ ref('fct_account_daily_activity') }}
        where activity_date = {{ run_date() }}
        union all
        select network, network || ':' || account_id, false
        from {{ ref('stg_stackexchange__accounts') }}
        where account_id <> '-1'
    )
    group by account_key
),

snapshot as (
    select network || ':' || account_id as account_key, display_name, created_at, reputation, followers_count
    from {{ ref('stg_stackexchange__accounts') }}
),

today as (
    select
        seen_today.account_key,
        seen_today.network,
        substr(seen_today.account_key, length(seen_today.network) + 2)     as account_id,
        {{ person_of('seen_today.account_key', 'identities') }}            as person_id,
        snapshot.display_name,
        snapshot.created_at,
        snapshot.reputation,
        snapshot.followers_count,
        case when seen_today.active_today then {{ run_date() }} end       as active_date
    from seen_today
    left join snapshot using (account_key)
    left join {{ ref('int_account_identities') }} as identities using (account_key)
)

select
    today.account_key::varchar                                                        as account_key,
    today.network::varchar                                                            as network,
    today.account_id::varchar                                                         as account_id,
    today.person_id::varchar                                                          as person_id,
    {% if is_incremental() %}
    coalesce(today.display_name, existing.display_name)::varchar                      as display_name,
    coalesce(today.created_at, existing.created_at)::timestamp                        as created_at,
    coalesce(today.reputation, existing.reputation)::bigint                           as reputation,
    coalesce(today.followers_count, existing.followers_count)::bigint                 as followers_count,
    least(today.active_date, existing.first_active_date)::date                        as first_active_date,
    greatest(today.active_date, existing.last_active_date)::date                      as last_active_date
    {% else %}
    today.display_name::varchar                                                       as display_name,
    today.created_at::timestamp                                                       as created_at,
    today.reputation::bigint                                                          as reputation,
    today.followers_count::bigint                                                     as followers_count,
    today.active_date::date                                                           as first_active_date,
    today.active_date::date                                                           as last_active_date
    {% endif %}
from today
{% if is_incremental() %}
left join {{ this }} as existing using (account_key)
{% endif %}
