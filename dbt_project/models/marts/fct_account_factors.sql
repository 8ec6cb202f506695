{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version']) }}
-- Per account and day: the seven factor inputs, each an exponentially decayed sum of what the
-- account received (int_account_daily_contributions):
--   x(D) = x(previous state day) * 0.5 ** (gap / half_life_days) + contribution(D)
-- An account leaves after inactivity_dropout_days (90) without receiving engagement. Maintained
-- from the previous day's rows of this table, so a day costs the same on day 2 and day 400.
with params as (
    select * from {{ ref('int_model_parameters') }}
),

{% if is_incremental() %}
previous_state_date as (
    select max(score_date) as score_date
    from {{ this }}
    where score_date < {{ run_date() }}
      and model_version = '{{ var("model_version") }}'
),

previous as (
    select
        state.network,
        state.account_key,
        {%- for factor in score_factors() %}
        state.{{ factor }} * pow(0.5, ({{ run_date() }} - state.score_date) / params.half_life_days) as {{ factor }},
        {%- endfor %}
        state.last_engaged_date
    from {{ this }} as state
    cross join params
    where state.score_date = (select score_date from previous_state_date)
      and state.model_version = '{{ var("model_version") }}'
),
{% else %}
previous as (
    select
        null::varchar as network, null::varchar as account_key,
        {%- for factor in score_factors() %}
        null::double as {{ factor }},
        {%- endfor %}
        null::date as last_engaged_date
    where false
),
{% endif %}

today as (
    select
        network,
        account_key,
        {%- for factor in score_factors() %}
        {{ factor }},
        {%- endfor %}
        activity_date as last_engaged_date
    from {{ ref('int_account_daily_contributions') }}
    where activity_date = {{ run_date() }}
      and model_version = '{{ var("model_version") }}'
),

combined as (
    select
        network,
        account_key,
        {%- for factor in score_factors() %}
        sum({{ factor }}) as {{ factor }},
        {%- endfor %}
        max(last_engaged_date) as last_engaged_date
    from (select * from previous union all by name select * from today)
    group by network, account_key
)

select
    {{ run_date() }}::date                                   as score_date,
    '{{ var("model_version") }}'::varchar                    as model_version,
    combined.network::varchar                                as network,
    combined.account_key::varchar                            as account_key,
    {%- for factor in score_factors() %}
    combined.{{ factor }}::double                            as {{ factor }},
    {%- endfor %}
    combined.last_engaged_date::date                         as last_engaged_date,
    pagerank.pagerank::double                                as pagerank,
    pagerank.pagerank_normalized::double                     as pagerank_normalized,
    quality.selectivity::double                              as selectivity_as_actor,
    quality.authenticity::double                             as authenticity_as_actor
from combined
cross join params
left join {{ ref('int_pagerank') }} as pagerank
    on pagerank.account_key = combined.account_key
   and pagerank.score_date = {{ run_date() }}
   and pagerank.model_version = '{{ var("model_version") }}'
left join {{ ref('int_actor_quality') }} as quality
    on quality.actor_key = combined.account_key
   and quality.activity_date = {{ run_date() }}
   and quality.model_version = '{{ var("model_version") }}'
where combined.last_engaged_date > {{ run_date() }} - params.inactivity_dropout_days
