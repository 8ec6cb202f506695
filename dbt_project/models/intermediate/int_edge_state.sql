{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key=['state_date', 'model_version'],
    pre_hook=before_begin("{{ migrate_edge_state_to_account_numbers() }}"),
    post_hook=["{{ check_previous_edge_state_was_kept() }}", "{{ keep_last_built_days('state_date') }}"]
) }}
-- The decayed engagement graph as of the run day: edge actor -> target with weight
--   w(D) = w(previous state day) * decay(gap) + (1 + ln(scored events today)) * authenticity(actor, D).
-- An edge leaves the graph after inactivity_dropout_days without engagement. Maintained from the
-- previous day's state, never from the raw history; only the states of the last
-- edge_state_days_kept built days are kept (macros/state_retention.sql). Feeds int_pagerank.
-- The ends are account numbers (int_account_numbers), not string keys: the whole graph is joined,
-- written and read by PageRank every day (L day 4, 67M edges: PageRank's graph set-up 69-71 s with
-- string ends, 34 s with numbers).
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
        state.actor_number,
        state.target_number,
        state.weight * pow(0.5, ({{ run_date() }} - state.state_date) / params.half_life_days) as weight,
        state.last_engaged_date
    from {{ this }} as state
    cross join params
    where state.state_date = (select state_date from previous_state_date)
      and state.model_version = '{{ var("model_version") }}'
),
{% else %}
previous as (
    select null::varchar as network, null::integer as actor_number, null::integer as target_number,
           null::double as weight, null::date as last_engaged_date
    where false
),
{% endif %}

today as (
    select
        pairs.network,
        actor.account_number                                             as actor_number,
        target.account_number                                            as target_number,
        (1.0 + ln(pairs.scored_events)) * quality.authenticity          as weight,
        pairs.activity_date                                              as last_engaged_date
    from {{ ref('int_engagement_pairs_daily') }} as pairs
    join {{ ref('int_actor_quality') }} as quality
        on quality.actor_key = pairs.actor_key
       and quality.activity_date = pairs.activity_date
       and quality.model_version = '{{ var("model_version") }}'
    join {{ ref('int_account_numbers') }} as actor on actor.account_key = pairs.actor_key
    join {{ ref('int_account_numbers') }} as target on target.account_key = pairs.target_key
    where pairs.activity_date = {{ run_date() }}
),

-- an edge engaged again today adds today's weight to its decayed one (a join keyed on the edge,
-- cheaper than grouping the whole state by it)
combined as (
    select
        coalesce(previous.network, today.network)                      as network,
        coalesce(previous.actor_number, today.actor_number)            as actor_number,
        coalesce(previous.target_number, today.target_number)          as target_number,
        coalesce(previous.weight, 0.0) + coalesce(today.weight, 0.0)   as weight,
        greatest(previous.last_engaged_date, today.last_engaged_date)  as last_engaged_date
    from previous
    full outer join today
        on today.actor_number = previous.actor_number
       and today.target_number = previous.target_number
)

select
    {{ run_date() }}                     as state_date,
    '{{ var("model_version") }}'         as model_version,
    combined.network,
    combined.actor_number,
    combined.target_number,
    combined.weight,
    combined.last_engaged_date
from combined
cross join params
where combined.last_engaged_date > {{ run_date() }} - params.inactivity_dropout_days
