{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key=['activity_date', 'model_version'],
    post_hook="{{ keep_last_built_days('activity_date') }}"
) }}
-- What each account received on the run day, per factor, in quality-weighted units
-- (docs/model.md §2-4). For one actor -> target pair and factor role with n events of type
-- weight t: value = t * (1 + ln n) (repeats from one account have diminishing returns), times the
-- actor's engagement_quality (selectivity * authenticity). Anonymous actors (Stack Exchange votes)
-- count t * anonymous_actor_weight per event. network_influence additionally multiplies by the
-- actor's PageRank influence multiplier greatest(influence_multiplier_floor, log2(1 + pagerank_normalized)):
-- from 1.1.0 the floor is 1, so only accounts more influential than average (pagerank_normalized > 1)
-- weigh more; a below-average account is not discounted a second time here, authenticity already
-- discounts the fake-looking ones (docs/model.md §4, "What changed in 1.1.0").
with params as (
    select * from {{ ref('int_model_parameters') }}
),

-- not materialized: read by two CTEs, and materialising tens of millions of events for them cost
-- more than scanning the columnar table twice (L day 1: 122-125 s with, 80-87 s without)
engagements as not materialized (
    select network, actor_key, target_key, target_post_id, factor_role, type_weight
    from {{ ref('int_events_cleaned') }}
    where target_key is not null
      and factor_role in {{ scored_engagement_roles() }}
),

pair_roles as (
    select
        engagements.network,
        engagements.target_key,
        engagements.actor_key,
        engagements.factor_role,
        case
            when engagements.actor_key is null
                then sum(engagements.type_weight) * any_value(params.anonymous_actor_weight)
            else avg(engagements.type_weight) * (1.0 + ln(count(*)))
        end                                                                        as pair_value
    from engagements
    cross join params
    group by engagements.network, engagements.target_key, engagements.actor_key, engagements.factor_role
),

weighted as (
    select
        pair_roles.*,
        coalesce(quality.engagement_quality, 1.0)                                  as engagement_quality,
        case when pair_roles.actor_key is null then 1.0
             else greatest(params.influence_multiplier_floor,
                           log2(1.0 + coalesce(pagerank.pagerank_normalized, 0.0))) end as influence_multiplier
    from pair_roles
    cross join params
    left join {{ ref('int_actor_quality') }} as quality
        on quality.actor_key = pair_roles.actor_key
       and quality.activity_date = {{ run_date() }}
       and quality.model_version = '{{ var("model_version") }}'
    left join {{ ref('int_pagerank') }} as pagerank
        on pagerank.account_key = pair_roles.actor_key
       and pagerank.score_date = {{ run_date() }}
       and pagerank.model_version = '{{ var("model_version") }}'
),

-- a two-way exchange: an account that engaged the target today and that the target engaged in the
-- 7 days ending today (both sides engaged)
two_way as (
    select today.target_key, today.actor_key
    from {{ ref('int_engagement_pairs_daily') }} as today
    -- a semi join, not a correlated EXISTS: DuckDB ran the EXISTS as a delim join that took a
    -- quarter of this model at L; on the ends' numbers, which join faster than the string keys
    semi join {{ ref('int_engagement_pairs_daily') }} as back
        on back.actor_number = today.target_number
       and back.target_number = today.actor_number
       and back.activity_date between {{ pair_signal_window_start() }} and {{ run_date() }}
    where today.activity_date = {{ run_date() }}
),

-- every known account that engaged the target today, with its quality: the run day's pairs (the
-- same events, actors and roles as `weighted`), rather than grouping `weighted` again
per_actor as (
    select pairs.target_key, pairs.actor_key, coalesce(quality.engagement_quality, 1.0) as engagement_quality
    from {{ ref('int_engagement_pairs_daily') }} as pairs
    left join {{ ref('int_actor_quality') }} as quality
        on quality.actor_key = pairs.actor_key
       and quality.activity_date = {{ run_date() }}
       and quality.model_version = '{{ var("model_version") }}'
    where pairs.activity_date = {{ run_date() }}
),

content as (
    -- own content that drew engagement: distinct posts engaged (Higgs events carry no post id, so
    -- any reshare / reply there counts as one engaged piece of content for the day), each counted
    -- with the best engagement quality among the accounts that engaged it: content engaged only by
    -- fake-looking or indiscriminate accounts counts for little
    select target_key, {{ exact_sum('best_quality') }} as engaged_content
    from (
        select
            engagements.target_key,
            coalesce(engagements.target_post_id, '(untracked)')            as content_item,
            max(coalesce(quality.engagement_quality, 1.0))                 as best_quality
        from engagements
        left join {{ ref('int_actor_quality') }} as quality
            on quality.actor_key = engagements.actor_key
           and quality.activity_date = {{ run_date() }}
           and quality.model_version = '{{ var("model_version") }}'
        where engagements.factor_role in ('amplification', 'conversation', 'appreciation')
        group by all
    )
    group by target_key
),

by_target as (
    select
        network,
        target_key                                                                            as account_key,
        {{ exact_sum('pair_value * engagement_quality', where="factor_role = 'amplification'") }} as amplification,
        {{ exact_sum('pair_value * engagement_quality', where="factor_role = 'conversation'") }} as conversation_replies,
        {{ exact_sum('pair_value * engagement_quality', where="factor_role = 'mentions'") }} as mentions,
        {{ exact_sum('pair_value * engagement_quality', where="factor_role = 'appreciation'") }} as appreciation,
        {{ exact_sum('pair_value * engagement_quality * influence_multiplier') }}               as network_influence
    from weighted
    group by network, target_key
)

select
    {{ run_date() }}                                                            as activity_date,
    '{{ var("model_version") }}'                                                as model_version,
    by_target.network,
    by_target.account_key,
    coalesce(audience.audience, 0.0)                                            as audience,
    coalesce(by_target.amplification, 0.0)                                      as amplification,
    coalesce(by_target.conversation_replies, 0.0)
      + coalesce(two_way_value.two_way, 0.0)                                    as conversation,
    coalesce(by_target.mentions, 0.0)                                           as mentions,
    coalesce(by_target.appreciation, 0.0)                                       as appreciation,
    coalesce(content.engaged_content, 0.0)::double                              as content,
    coalesce(by_target.network_influence, 0.0)                                  as network_influence,
    coalesce(two_way_value.two_way_partners, 0)                                 as two_way_partners
from by_target
left join (
    select target_key as account_key, {{ exact_sum('engagement_quality') }} as audience
    from per_actor group by target_key
) as audience using (account_key)
left join (
    select two_way.target_key as account_key, count(*) as two_way_partners,
           {{ exact_sum('per_actor.engagement_quality') }} as two_way
    from two_way
    join per_actor using (target_key, actor_key)
    group by two_way.target_key
) as two_way_value using (account_key)
left join content on content.target_key = by_target.account_key
