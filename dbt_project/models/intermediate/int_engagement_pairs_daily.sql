{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_date',
    pre_hook=before_begin("{{ migrate_to_account_numbers(['actor', 'target'], keep_keys=true) }}")
) }}
-- Who engaged whom on the run day (known actors only), with counts per factor role. The 7-day
-- history of this table feeds the authenticity signals and the engagement graph. Both ends carry
-- their account numbers (int_account_numbers) too: the readers that look at 7 days of pairs
-- (int_actor_quality, two-way exchanges, the graph) group and join on them, not on the keys.
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
    where actor_key is not null
      and target_key is not null
      and factor_role in {{ engagement_roles() }}
    group by network, actor_key, target_key
)

select
    {{ run_date() }}                 as activity_date,
    pairs.network,
    pairs.actor_key,
    pairs.target_key,
    actor.account_number             as actor_number,
    target.account_number            as target_number,
    pairs.scored_events,
    pairs.reshares,
    pairs.conversation_events,
    pairs.mentions,
    pairs.appreciation_events
from pairs
join {{ ref('int_account_numbers') }} as actor on actor.account_key = pairs.actor_key
join {{ ref('int_account_numbers') }} as target on target.account_key = pairs.target_key
