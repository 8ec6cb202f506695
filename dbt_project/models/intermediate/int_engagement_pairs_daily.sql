{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_date',
    pre_hook=[before_begin("{{ number_engagement_pair_ends() }}")],
    post_hook="{{ prune_engagement_pairs() }}"
) }}
-- Who engaged whom on the run day (known actors only), with counts per factor role. The run day's
-- pairs feed the engagement graph; the pair_signal_days() (7) days ending on it, the authenticity
-- signals and the two-way exchanges. Only the days a rebuild can read are kept
-- (macros/pair_signals.sql).
-- Both ends also as account numbers: the 7-day windows group and join these pairs by their ends,
-- and on integers that took about half the time it takes on the string keys (int_actor_quality at
-- M, 27M pairs in the window: 5.9 s against 9.8 s).
with pairs as (
    select
        network,
        actor_key,
        target_key,
        count(*)::bigint                                                      as scored_events,
        count(*) filter (where factor_role = 'amplification')::bigint         as reshares,
        count(*) filter (where factor_role = 'conversation')::bigint          as conversation_events,
        count(*) filter (where factor_role = 'mentions')::bigint              as mentions,
        count(*) filter (where factor_role = 'appreciation')::bigint          as appreciation_events
    from {{ ref('int_events_cleaned') }}
    where {{ is_engagement_pair_event() }}
    group by network, actor_key, target_key
)

select
    {{ run_date() }}                                                      as activity_date,
    pairs.network,
    pairs.actor_key,
    pairs.target_key,
    -- int_account_numbers numbered every end of the day's pairs (same events, same filter): a
    -- missing number is a bug, and fails the build rather than dropping the pair
    coalesce(actor.account_number,
             error('int_engagement_pairs_daily: no account number for ' || pairs.actor_key))  as actor_number,
    coalesce(target.account_number,
             error('int_engagement_pairs_daily: no account number for ' || pairs.target_key)) as target_number,
    pairs.scored_events,
    pairs.reshares,
    pairs.conversation_events,
    pairs.mentions,
    pairs.appreciation_events
from pairs
left join {{ ref('int_account_numbers') }} as actor on actor.account_key = pairs.actor_key
left join {{ ref('int_account_numbers') }} as target on target.account_key = pairs.target_key
