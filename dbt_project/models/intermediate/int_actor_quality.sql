{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key=['activity_date', 'model_version'],
    post_hook="{{ keep_last_built_days('activity_date') }}"
) }}
-- How much one engagement by each account that acted on the run day is worth (docs/model.md §3):
--   selectivity  = min(1, sqrt(free_actions / actions_today))      indiscriminate engagers count less
--   authenticity = ring_weight * outside_audience_weight * burst_weight   fake-looking accounts count less
--     ring_weight             reciprocal rings: (2 * (1 - reciprocal share))^2 when >= 10 reciprocal targets
--     outside_audience_weight 0.5 when nobody outside its own targets engaged the account
--     burst_weight            min(1, 10 / most actions in one minute)
-- Signals look at the pair_signal_days() (7) days ending on the run day (int_engagement_pairs_daily).
with params as (
    select * from {{ ref('int_model_parameters') }}
),

-- one pass over the day's scored actions, per actor and minute; the day's count and the busiest
-- minute both come from it (a separate count per actor was a second full aggregation of the events:
-- 28.3-28.9 s for the model at L day 1 with it, 21.9-22.9 s without, same rows)
actions_per_minute as (
    select actor_key, any_value(network) as network, date_trunc('minute', occurred_at) as minute, count(*) as actions
    from {{ ref('int_events_cleaned') }}
    where {{ is_engagement_pair_event() }}
    group by actor_key, minute
),

actions_today as (
    select
        actor_key,
        any_value(network)                  as network,
        sum(actions)::bigint                as actions_today,
        max(actions)                        as max_actions_per_minute
    from actions_per_minute
    group by actor_key
),

-- every unordered pair engaged in the 7 days, and in which direction(s): one aggregation instead of
-- a distinct pair list joined to itself twice (reciprocal pairs, outside audience). On the ends'
-- account numbers: the window is the largest aggregation of the build (27M pairs on day 10 at M).
recent_pairs as (
    select
        least(actor_number, target_number)      as low_number,
        greatest(actor_number, target_number)   as high_number,
        bool_or(actor_number < target_number)   as low_engaged_high,
        bool_or(actor_number > target_number)   as high_engaged_low
    from {{ ref('int_engagement_pairs_daily') }}
    where activity_date between {{ pair_signal_window_start() }} and {{ run_date() }}
    group by low_number, high_number
),

-- each pair seen from both of its accounts: did it engage the other, did the other engage it
pair_ends as (
    select low_number as account_number, low_engaged_high as engaged, high_engaged_low as engaged_by from recent_pairs
    union all
    select high_number, high_engaged_low, low_engaged_high from recent_pairs
),

-- the accounts that acted today (all of them ends of today's pairs, so all numbered)
actors_today as (
    select actions_today.*, numbers.account_number
    from actions_today
    join {{ ref('int_account_numbers') }} as numbers on numbers.account_key = actions_today.actor_key
),

-- per account that acted today: accounts it engaged, how many of them engaged it back (a
-- reciprocal pair), and engagers it did not engage itself (an audience outside any ring)
pair_signals as (
    select
        account_number,
        count(*) filter (where engaged)                         as distinct_targets_7d,
        count(*) filter (where engaged and engaged_by)          as reciprocal_targets_7d,
        count(*) filter (where engaged_by and not engaged)      as outside_engagers_7d
    from pair_ends
    semi join actors_today using (account_number)
    group by account_number
),

signals as (
    select
        actors_today.actor_key,
        actors_today.network,
        actors_today.actions_today,
        actors_today.max_actions_per_minute,
        coalesce(pair_signals.distinct_targets_7d, 0)           as distinct_targets_7d,
        coalesce(pair_signals.reciprocal_targets_7d, 0)         as reciprocal_targets_7d,
        coalesce(pair_signals.outside_engagers_7d, 0)           as outside_engagers_7d
    from actors_today
    left join pair_signals using (account_number)
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
