{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['activity_date', 'model_version']) }}
-- How much one engagement by each account that acted on the run day is worth (docs/model.md §3):
--   selectivity  = min(1, sqrt(free_actions / actions_today))      indiscriminate engagers count less
--   authenticity = ring_weight * outside_audience_weight * burst_weight   fake-looking accounts count less
--     ring_weight             reciprocal rings: (2 * (1 - reciprocal share))^2 when >= 10 reciprocal targets
--     outside_audience_weight 0.5 when nobody outside its own targets engaged the account
--     burst_weight            min(1, 10 / most actions in one minute)
-- Signals look at the 7 days ending on the run day (int_engagement_pairs_daily).
with params as (
    select * from {{ ref('int_model_parameters') }}
),

scored_actions as (
    select actor_key, network, occurred_at
    from {{ ref('int_events_cleaned') }}
    where actor_key is not null
      and target_key is not null
      and factor_role in ('amplification', 'conversation', 'mentions', 'appreciation', 'audience_only')
),

actions_today as (
    select actor_key, any_value(network) as network, count(*) as actions_today
    from scored_actions
    group by actor_key
),

busiest_minute as (
    select actor_key, max(actions_in_minute) as max_actions_per_minute
    from (
        select actor_key, date_trunc('minute', occurred_at) as minute, count(*) as actions_in_minute
        from scored_actions
        group by all
    )
    group by actor_key
),

recent_pairs as (
    select distinct actor_key, target_key
    from {{ ref('int_engagement_pairs_daily') }}
    where activity_date between {{ run_date() }} - interval 6 day and {{ run_date() }}
),

-- targets of today's actors, and whether each target engaged the actor back (a reciprocal pair)
actor_targets as (
    select
        outgoing.actor_key,
        count(*)                            as distinct_targets_7d,
        count(incoming.actor_key)           as reciprocal_targets_7d
    from recent_pairs as outgoing
    semi join actions_today on actions_today.actor_key = outgoing.actor_key
    left join recent_pairs as incoming
        on incoming.actor_key = outgoing.target_key
       and incoming.target_key = outgoing.actor_key
    group by outgoing.actor_key
),

-- engagers of today's actors that the actor did not engage itself: an audience outside any ring
outside_audience as (
    select
        received.target_key                 as actor_key,
        count(*)                            as outside_engagers_7d
    from recent_pairs as received
    semi join actions_today on actions_today.actor_key = received.target_key
    anti join recent_pairs as given
        on given.actor_key = received.target_key
       and given.target_key = received.actor_key
    group by received.target_key
),

signals as (
    select
        actions_today.actor_key,
        actions_today.network,
        actions_today.actions_today,
        busiest_minute.max_actions_per_minute,
        coalesce(actor_targets.distinct_targets_7d, 0)          as distinct_targets_7d,
        coalesce(actor_targets.reciprocal_targets_7d, 0)        as reciprocal_targets_7d,
        coalesce(outside_audience.outside_engagers_7d, 0)       as outside_engagers_7d
    from actions_today
    left join busiest_minute using (actor_key)
    left join actor_targets using (actor_key)
    left join outside_audience using (actor_key)
),

weights as (
    select
        signals.*,
        least(1.0, sqrt(params.selectivity_free_actions / signals.actions_today))   as selectivity,
        -- reciprocal ring: most of the (many) accounts it engages engage it back. Full weight up
        -- to a reciprocal share of 1/2, then (2 * (1 - share))^2 down to the floor.
        case
            when signals.reciprocal_targets_7d >= params.ring_min_reciprocal_targets
                then greatest(params.ring_weight_floor,
                              least(1.0, pow(2.0 * (1.0 - signals.reciprocal_targets_7d / signals.distinct_targets_7d), 2)))
            else 1.0
        end                                                                           as ring_weight,
        case when signals.outside_engagers_7d > 0 then 1.0
             else params.no_outside_audience_weight end                               as outside_audience_weight,
        least(1.0, params.burst_free_actions_per_minute / signals.max_actions_per_minute) as burst_weight
    from signals
    cross join params
)

select
    {{ run_date() }}                                            as activity_date,
    '{{ var("model_version") }}'                                as model_version,
    actor_key,
    network,
    actions_today,
    max_actions_per_minute,
    distinct_targets_7d,
    reciprocal_targets_7d,
    outside_engagers_7d,
    selectivity,
    ring_weight,
    outside_audience_weight,
    burst_weight,
    ring_weight * outside_audience_weight * burst_weight        as authenticity,
    selectivity * ring_weight * outside_audience_weight * burst_weight as engagement_quality
from weights
