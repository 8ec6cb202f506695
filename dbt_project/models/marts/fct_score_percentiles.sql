{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version']) }}
-- The score distribution of the run day, per network (account scores) and for all persons
-- (scope 'all'): the published check of the scale semantics (docs/model.md §6).
with scores as (
    select network as scope, score
    from {{ ref('fct_network_scores') }}
    where score_date = {{ run_date() }} and model_version = '{{ var("model_version") }}'
    union all
    select 'all' as scope, score
    from {{ ref('fct_person_scores') }}
    where score_date = {{ run_date() }} and model_version = '{{ var("model_version") }}'
)

select
    {{ run_date() }}::date                                          as score_date,
    scope::varchar                                                  as scope,
    count(*)::bigint                                                as scored,
    {%- for p in [1, 5, 10, 25, 50, 75, 90, 95, 99] %}
    quantile_cont(score, {{ p / 100 }})::double                     as p{{ '%02d' % p }},
    {%- endfor %}
    quantile_cont(score, 0.999)::double                             as p99_9,
    max(score)::double                                              as max_score,
    avg((score >= 30)::integer)::double                             as share_reputable_or_above,
    avg((score >= 50)::integer)::double                             as share_elite_or_above,
    avg((score >= 90)::integer)::double                             as share_exceptional,
    '{{ var("model_version") }}'::varchar                           as model_version
from scores
group by scope
