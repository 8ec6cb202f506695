{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key=['engaged_date', 'model_version'],
    pre_hook=[before_begin("{{ migrate_edge_state() }}"), "{{ delete_edge_versions_of_run_day() }}"],
    post_hook=["{{ link_edge_versions() }}", "{{ check_previous_edge_state_was_kept() }}", "{{ prune_edge_versions() }}"]
) }}
-- depends_on: {{ ref('model_versions') }}
-- depends_on: {{ ref('int_account_numbers') }}  (the string-ends migration numbers the ends)
-- The decayed engagement graph, kept in place: one row per edge actor -> target and day it was
-- engaged (a version), holding the edge's weight as of that day,
--   w(E) = w(E_prev) * decay(E - E_prev) + (1 + ln(scored events on E)) * authenticity(actor, E),
-- and superseded_date, the edge's next engagement (null while it is the latest). The graph on a
-- day D is every version valid on D (macros/edge_state.sql, edge_state_on): engaged on or before D,
-- not superseded by D and engaged less than inactivity_dropout_days before D, its weight decayed
-- to D. Nothing else changes as days pass, so a day writes only the edges engaged that day (and
-- links the versions they supersede) instead of a copy of the whole 90-day graph: at M the copy
-- grew from 8.7 s on day 2 to 28.9 s on day 10, and seven kept copies were 7x the graph on disk.
-- Versions older than every day that can still be rebuilt are pruned (prune_edge_versions).
-- The ends are account numbers (int_account_numbers; the pairs carry them), not string keys:
-- PageRank joins and reads the whole graph every day (L day 4, 67M edges: PageRank's graph set-up
-- 69-71 s with string ends, 34 s with numbers).
with params as (
    select * from {{ ref('int_model_parameters') }}
),

{% if is_incremental() %}
-- each edge's version on the day before the run day, decayed to the run day (the run day's own
-- versions were deleted by the pre-hook; the versions they superseded are still linked to it)
previous as (
    select
        state.actor_number,
        state.target_number,
        state.weight * pow(0.5, ({{ run_date() }} - state.engaged_date) / params.half_life_days) as weight
    from {{ this }} as state
    cross join params
    where state.model_version = '{{ var("model_version") }}'
      and state.engaged_date < {{ run_date() }}
      and state.engaged_date >= {{ run_date() }} - params.inactivity_dropout_days
      and (state.superseded_date is null or state.superseded_date >= {{ run_date() }})
),
{% else %}
previous as (
    select null::integer as actor_number, null::integer as target_number, null::double as weight
    where false
),
{% endif %}

today as (
    select
        pairs.network,
        pairs.actor_number,
        pairs.target_number,
        (1.0 + ln(pairs.scored_events)) * quality.authenticity          as weight
    from {{ ref('int_engagement_pairs_daily') }} as pairs
    join {{ ref('int_actor_quality') }} as quality
        on quality.actor_key = pairs.actor_key
       and quality.activity_date = pairs.activity_date
       and quality.model_version = '{{ var("model_version") }}'
    where pairs.activity_date = {{ run_date() }}
)

-- an edge engaged again adds today's weight to its decayed one; only the edges engaged today get a
-- row (the others keep their versions)
select
    {{ run_date() }}                                        as engaged_date,
    '{{ var("model_version") }}'                            as model_version,
    today.network,
    today.actor_number,
    today.target_number,
    today.weight + coalesce(previous.weight, 0.0)           as weight,
    null::date                                              as superseded_date
from today
left join previous
    on previous.actor_number = today.actor_number
   and previous.target_number = today.target_number
