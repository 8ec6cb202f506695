{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_date',
    post_hook="{{ prune_engagement_pairs() }}"
) }}
-- Who engaged whom on the run day (known actors only), with counts per factor role. The run day's
-- pairs feed the engagement graph; the pair_signal_days() (7) days ending on it, the authenticity
-- signals and the two-way exchanges. Only the days a rebuild can read are kept
-- (macros/pair_signals.sql).
select
    {{ run_date() }}                                                      as activity_date,
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
  and factor_role in {{ scored_engagement_roles() }}
group by network, actor_key, target_key
