{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_date') }}
-- Who engaged whom on the run day (known actors only), with counts per factor role. The 7-day
-- history of this table feeds the authenticity signals and the engagement graph.
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
  and factor_role in ('amplification', 'conversation', 'mentions', 'appreciation', 'audience_only')
group by network, actor_key, target_key
