{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key=['state_date', 'model_version'],
    post_hook=["{{ check_previous_edge_state_was_kept() }}", "{{ prune_edge_states() }}"]
) }}
-- The decayed engagement graph as of the run day: edge actor -> target with weight
--   w(D) = w(previous state day) * decay(gap) + (1 + ln(scored events today)) * authenticity(actor, D).
-- An edge leaves the graph after inactivity_dropout_days without engagement. Maintained from the
-- previous day's state, never from the raw history; only the states of the last
-- edge_state_days_kept built days are kept (macros/edge_state_retention.sql). Feeds int_pagerank.
with params as (
    select * from {{ ref('int_model_parameters') }}
),

{% if is_incremental() %}
previous_state_date as (
    select max(state_date) as state_date
    from {{ this }}
    where state_date < {{ run_date() }}
      and model_version = '{{ var("model_version") }}'
),

previous as (
    select
        state.network,
        state.actor_key,
        state.target_key,
        state.weight * pow(0.5, ({{ run_date() }} - state.state_date) / params.half_life_days) as weight,
        state.last_engaged_date
    from {{ this }} as state
    cross join params
    where state.state_date = (select state_date from previous_state_date)
      and state.model_version = '{{ var("model_version") }}'
),
{% else %}
previous as (
    select null::varchar as network, null::varchar as actor_key, null::varchar as target_key,
           null::double as weight, null::date as last_engaged_date
    where false
),
{% endif %}

today as (
    select
        pairs.network,
        pairs.actor_key,
        pairs.target_key,
        (1.0 + ln(pairs.scored_events)) * quality.authenticity          as weight,
        pairs.activity_date                                              as last_engaged_date
    from {{ ref('int_engagement_pairs_daily') }} as pairs
    join {{ ref('int_actor_quality') }} as quality
        on quality.actor_key = pairs.actor_key
       and quality.activity_date = pairs.activity_date
       and quality.model_version = '{{ var("model_version") }}'
    where pairs.activity_date = {{ run_date() }}
),

-- an edge engaged again today adds today's weight to its decayed one (a join keyed on the edge,
-- cheaper than grouping the whole state by it)
combined as (
    select
        coalesce(previous.network, today.network)                      as network,
        coalesce(previous.actor_key, today.actor_key)                  as actor_key,
        coalesce(previous.target_key, today.target_key)                as target_key,
        coalesce(previous.weight, 0.0) + coalesce(today.weight, 0.0)   as weight,
        greatest(previous.last_engaged_date, today.last_engaged_date)  as last_engaged_date
    from previous
    full outer join today
        on today.network = previous.network
       and today.actor_key = previous.actor_key
       and today.target_key = previous.target_key
)

select
    {{ run_date() }}                     as state_date,
    '{{ var("model_version") }}'         as model_version,
    combined.network,
    combined.actor_key,
    combined.target_key,
    combined.weight,
    combined.last_engaged_date
from combined
cross join params
where combined.last_engaged_date > {{ run_date() }} - params.inactivity_dropout_days
