{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_date') }}
-- Plain counts per account and day (no weighting): what the account did and what it received.
-- Self-interactions are not scored; they are counted here per account.
-- not materialized: each reader scans the columnar table instead of a materialised copy of every
-- event (L day 1: 55.0 s materialised, 46.8 s not)
with cleaned as not materialized (
    select * from {{ ref('int_events_cleaned') }}
),

acted as (
    select
        actor_key                                                               as account_key,
        any_value(network)                                                      as network,
        count(*)                                                                as events_acted,
        count(*) filter (where creates_content)                                 as content_created
    from cleaned
    where actor_key is not null
    group by actor_key
),

-- What known accounts gave the account, from the run day's engagement pairs: they are the day's
-- scored events already grouped per actor and target, so the distinct counts are row counts here
-- instead of count(distinct) over every event (M day 2, the select alone: 4.6-4.9 s with it,
-- 2.5-2.8 s without, same rows).
received_from_pairs as (
    select
        target_key                                                              as account_key,
        any_value(network)                                                      as network,
        sum(scored_events)                                                      as engagements_received,
        count(*)                                                                as distinct_engagers,
        sum(reshares)                                                           as reshares_received,
        count(*) filter (where reshares > 0)                                    as distinct_resharers,
        sum(conversation_events)                                                as conversation_received,
        sum(mentions)                                                           as mentions_received,
        sum(appreciation_events)                                                as appreciation_received
    from {{ ref('int_engagement_pairs_daily') }}
    where activity_date = {{ run_date() }}
    group by target_key
),

-- the received events the pairs leave out: anonymous actors (Stack Exchange votes) and roles that
-- are not engagement (downvotes, content_creation)
received_otherwise as (
    select
        target_key                                                              as account_key,
        any_value(network)                                                      as network,
        count(*) filter (where factor_role <> 'not_scored')                     as engagements_received,
        count(*) filter (where factor_role = 'amplification')                   as reshares_received,
        count(*) filter (where factor_role = 'conversation')                    as conversation_received,
        count(*) filter (where factor_role = 'mentions')                        as mentions_received,
        count(*) filter (where factor_role = 'appreciation')                    as appreciation_received,
        count(*) filter (where event_type = 'downvote')                         as downvotes_received,
        count(*) filter (where actor_key is null and factor_role <> 'not_scored') as anonymous_engagements_received
    from cleaned
    where target_key is not null
      and not (actor_key is not null and factor_role in {{ scored_engagement_roles() }})
    group by target_key
),

self_interactions as (
    select actor_key as account_key, any_value(network) as network, count(*) as self_interactions_dropped
    from {{ ref('int_events_classified') }}
    where drop_reason = 'self_interaction'
    group by actor_key
),

accounts as (
    select account_key, network from acted
    union
    select account_key, network from received_from_pairs
    union
    select account_key, network from received_otherwise
    union
    select account_key, network from self_interactions
)

select
    {{ run_date() }}::date                                                              as activity_date,
    accounts.network::varchar                                                           as network,
    accounts.account_key::varchar                                                       as account_key,
    coalesce(acted.events_acted, 0)::bigint                                             as events_acted,
    coalesce(acted.content_created, 0)::bigint                                          as content_created,
    (coalesce(from_pairs.engagements_received, 0)
      + coalesce(otherwise.engagements_received, 0))::bigint                            as engagements_received,
    coalesce(from_pairs.distinct_engagers, 0)::bigint                                   as distinct_engagers,
    (coalesce(from_pairs.reshares_received, 0)
      + coalesce(otherwise.reshares_received, 0))::bigint                               as reshares_received,
    coalesce(from_pairs.distinct_resharers, 0)::bigint                                  as distinct_resharers,
    (coalesce(from_pairs.conversation_received, 0)
      + coalesce(otherwise.conversation_received, 0))::bigint                           as conversation_received,
    (coalesce(from_pairs.mentions_received, 0)
      + coalesce(otherwise.mentions_received, 0))::bigint                               as mentions_received,
    (coalesce(from_pairs.appreciation_received, 0)
      + coalesce(otherwise.appreciation_received, 0))::bigint                           as appreciation_received,
    coalesce(otherwise.downvotes_received, 0)::bigint                                   as downvotes_received,
    coalesce(otherwise.anonymous_engagements_received, 0)::bigint                       as anonymous_engagements_received,
    coalesce(self_interactions.self_interactions_dropped, 0)::bigint                    as self_interactions_dropped
from accounts
left join acted using (account_key)
left join received_from_pairs as from_pairs using (account_key)
left join received_otherwise as otherwise using (account_key)
left join self_interactions using (account_key)
