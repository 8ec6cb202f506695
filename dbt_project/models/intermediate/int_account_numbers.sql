{{ config(materialized='incremental', incremental_strategy='append') }}
-- A dense INTEGER number for every account that is an end of an engagement edge, assigned the first
-- day the account is seen and never changed: the engagement pairs (int_engagement_pairs_daily), the
-- decayed graph (int_edge_state) and PageRank work on these numbers instead of the string keys
-- (docs/architecture.md, "Keys used in the warehouse").
-- Append-only and never fully refreshed (+full_refresh: false in dbt_project.yml): int_edge_state
-- keeps numbers of earlier days, and renumbering would silently reconnect its edges to other
-- accounts. INTEGER, not BIGINT: PageRank joins on them in every iteration (L day 4: int_pagerank
-- 142 s with BIGINT, 126 s with INTEGER); past 2^31 - 1 accounts the numbering fails with a
-- conversion error, not silently.
-- Read from the run day's events that make engagement pairs (is_engagement_pair_event), because
-- the pairs carry these numbers.
with engagements as not materialized (
    select network, actor_key, target_key
    from {{ ref('int_events_cleaned') }}
    where {{ is_engagement_pair_event() }}
),

keys_today as (
    select network, actor_key as account_key from engagements
    union
    select network, target_key from engagements
),

new_keys as (
    select keys_today.network, keys_today.account_key
    from keys_today
    {% if is_incremental() %}
    anti join {{ this }} as numbered using (account_key)
    {% endif %}
)

select
    new_keys.account_key::varchar                                                       as account_key,
    new_keys.network::varchar                                                           as network,
    {{ next_account_number(this if is_incremental() else none) }}                       as account_number,
    {{ run_date() }}::date                                                              as first_numbered_date
from new_keys
