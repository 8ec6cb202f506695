{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version']) }}
-- Person score of the run day (docs/model.md §5): a person's factor inputs are the sums over their
-- linked accounts (so linking one more network never lowers the score), mapped with the same
-- fixed scale as fct_network_scores. Keyed by (score_date, person_id, model_version): building a
-- new model version adds rows beside the published ones and never rewrites them.
with params as (
    select * from {{ ref('int_model_parameters') }}
),

weights as (
    {{ factor_weights_row() }}
),

account_factors as (
    select
        factors.*,
        {{ person_of('factors.account_key', 'identities') }} as person_id
    from {{ ref('fct_account_factors') }} as factors
    left join {{ ref('int_account_identities') }} as identities using (account_key)
    where factors.score_date = {{ run_date() }}
      and factors.model_version = '{{ var("model_version") }}'
),

persons as (
    select
        person_id,
        string_agg(distinct network, ',' order by network)      as networks,
        count(*)                                                 as scored_accounts,
        {%- for factor in score_factors() %}
        {{ exact_sum(factor) }}                                  as {{ factor }},
        {%- endfor %}
        max(last_engaged_date)                                   as last_engaged_date
    from account_factors
    group by person_id
),

scored as (
    select
        persons.*,
        {{ raw_score('persons.') }}                                                      as raw_score,
        round({{ score_from_raw(raw_score('persons.'), 'params.scale_curvature') }}, 4)  as score
    from persons
    cross join weights
    cross join params
)

select
    {{ run_date() }}::date                                                       as score_date,
    person_id::varchar                                                           as person_id,
    score::double                                                                as score,
    (row_number() over (order by score desc, person_id))::integer               as rank,
    (100.0 * percent_rank() over (order by score))::double                      as percentile,
    {{ score_tier('score') }}::varchar                                           as tier,
    networks::varchar                                                            as networks,
    scored_accounts::integer                                                     as scored_accounts,
    raw_score::double                                                            as raw_score,
    {%- for factor in score_factors() %}
    {{ factor }}::double                                                         as {{ factor }},
    {%- endfor %}
    last_engaged_date::date                                                      as last_engaged_date,
    '{{ var("model_version") }}'::varchar                                        as model_version
from scored
