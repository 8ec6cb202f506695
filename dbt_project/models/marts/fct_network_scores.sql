{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version']) }}
-- Score 1-100 of each account within its network on the run day (docs/model.md §5):
--   raw = sum_f w_f * ln(1 + x_f / s_f),   score = 1 + 99 * (1 - exp(-raw / curvature))
with params as (
    select * from {{ ref('int_model_parameters') }}
),

weights as (
    {{ factor_weights_row() }}
),

factors as (
    select *
    from {{ ref('fct_account_factors') }}
    where score_date = {{ run_date() }}
      and model_version = '{{ var("model_version") }}'
),

scored as (
    select
        factors.score_date,
        factors.model_version,
        factors.network,
        factors.account_key,
        {{ raw_score('factors.') }}                                                     as raw_score,
        round({{ score_from_raw(raw_score('factors.'), 'params.scale_curvature') }}, 4)  as score
    from factors
    cross join weights
    cross join params
)

select
    score_date::date                                                                         as score_date,
    network::varchar                                                                         as network,
    account_key::varchar                                                                     as account_key,
    score::double                                                                            as score,
    (row_number() over (partition by network order by score desc, account_key))::integer    as network_rank,
    (100.0 * percent_rank() over (partition by network order by score))::double             as network_percentile,
    {{ score_tier('score') }}::varchar                                                       as tier,
    raw_score::double                                                                        as raw_score,
    model_version::varchar                                                                   as model_version
from scored
