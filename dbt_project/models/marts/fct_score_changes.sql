{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version']) }}
-- Why each person's score moved on the run day (docs/model.md §7). The change is split over the
-- factors in proportion to each factor's change in weighted points:
--   contribution_f = w_f * (points_f(D) - points_f(prev)) * (S(raw_D) - S(raw_prev)) / (raw_D - raw_prev)
-- which sums to S(raw_D) - S(raw_prev) exactly; the published change differs from that sum only
-- by the 4-decimal rounding of the published scores. A person new to the ranking starts from raw 0
-- (score 1, the floor).
with params as (
    select * from {{ ref('int_model_parameters') }}
),

weights as (
    {{ factor_weights_row() }}
),

today as (
    select * from {{ ref('fct_person_scores') }}
    where score_date = {{ run_date() }}
      and model_version = '{{ var("model_version") }}'
),

previous_score_date as (
    select max(score_date) as score_date
    from {{ ref('fct_person_scores') }}
    where score_date < {{ run_date() }}
      and model_version = '{{ var("model_version") }}'
),

previous as (
    select * from {{ ref('fct_person_scores') }}
    where score_date = (select score_date from previous_score_date)
      and model_version = '{{ var("model_version") }}'
),

points as (
    select
        today.person_id,
        today.score,
        previous.score                                                            as previous_score,
        previous.score_date                                                       as previous_score_date,
        today.raw_score                                                           as raw_now,
        coalesce(previous.raw_score, 0.0)                                         as raw_before,
        {%- for factor in score_factors() %}
        weights.w_{{ factor }} * ({{ factor_points('today.' ~ factor, 'weights.s_' ~ factor) }}
            - {{ factor_points('coalesce(previous.' ~ factor ~ ', 0.0)', 'weights.s_' ~ factor) }})  as delta_points_{{ factor }},
        {%- endfor %}
        {{ score_from_raw('today.raw_score', 'params.scale_curvature') }}
          - {{ score_from_raw('coalesce(previous.raw_score, 0.0)', 'params.scale_curvature') }}      as unrounded_change
    from today
    left join previous using (person_id)
    cross join weights
    cross join params
),

person_accounts as (
    select account_key, person_id from {{ ref('int_account_identities') }}
),

-- the run day's engagement received, grouped into readable "events": one per content item (or,
-- where the source has no post ids, per kind of engagement) and event type. Distinct actors are
-- counted in two steps (per actor, then per group): at L (9.5M groups of 44M events) the single
-- count(distinct) took 51-61 s of the model against 43-53 s, same rows; at M the two were even.
engagement_groups as (
    select person_id, event_type, target_post_id, count(actor_key) as distinct_actors, sum(events)::bigint as events
    from (
        select
            {{ person_of('events.target_key', 'person_accounts') }}                    as person_id,
            events.event_type,
            events.target_post_id,
            events.actor_key,
            count(*)                                                                   as events
        from {{ ref('int_events_cleaned') }} as events
        left join person_accounts on person_accounts.account_key = events.target_key
        where events.target_key is not null
          and events.factor_role not in ('not_scored', 'content_creation')
        group by all
    )
    group by all
),

described as (
    select
        person_id,
        greatest(distinct_actors, events)                                          as weight,
        coalesce('post ' || target_post_id, case when event_type = 'mention' then 'account' else 'posts' end)
        || ' '
        || case event_type
               when 'reshare' then 'reshared'
               when 'reply' then 'replied to'
               when 'comment' then 'commented on'
               when 'answer' then 'answered'
               when 'mention' then 'mentioned'
               when 'like' then 'upvoted'
               when 'favourite' then 'favourited'
               when 'accept' then 'accepted'
               when 'follow' then 'followed'
               else event_type
           end
        || case when distinct_actors > 0
                then ' by ' || format('{:,}', distinct_actors) || ' distinct account' || case when distinct_actors = 1 then '' else 's' end
                else ' ' || format('{:,}', events) || ' time' || case when events = 1 then '' else 's' end || ' (anonymous)'
           end
        || ' on ' || strftime({{ run_date() }}, '%Y-%m-%d')                       as description
    from engagement_groups
),

-- the three positions joined by hand: an ordered string_agg over at most three rows per person was
-- a sort per group (L: 49-51 s for the model against 54-56 s, same rows)
top_events as (
    select person_id,
           concat_ws('; ', max(description) filter (where position = 1),
                           max(description) filter (where position = 2),
                           max(description) filter (where position = 3)) as top_events
    from (
        select *, row_number() over (partition by person_id order by weight desc, description) as position
        from described
        semi join today using (person_id)
    )
    where position <= 3
    group by person_id
)

select
    {{ run_date() }}::date                                                             as score_date,
    points.person_id::varchar                                                          as person_id,
    points.score::double                                                               as score,
    points.previous_score::double                                                      as previous_score,
    points.previous_score_date::date                                                   as previous_score_date,
    round(points.score - coalesce(points.previous_score, 1.0), 4)::double              as score_change,
    {%- for factor in score_factors() %}
    round(case when points.raw_now = points.raw_before then 0.0
               else points.delta_points_{{ factor }} * points.unrounded_change / (points.raw_now - points.raw_before)
          end, 4)::double                                                              as contribution_{{ factor }},
    {%- endfor %}
    coalesce(top_events.top_events,
             'no new engagement on ' || strftime({{ run_date() }}, '%Y-%m-%d') || ' (decay only)')::varchar as top_events,
    '{{ var("model_version") }}'::varchar                                              as model_version
from points
left join top_events using (person_id)
