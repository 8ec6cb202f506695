{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version']) }}
-- One row per network and run day: graph size, power iterations run, the last L1 change of the
-- PageRank vector, and whether it fell below var pagerank_tolerance.
with ranks as (
    select * from {{ ref('int_pagerank') }}
    where score_date = {{ run_date() }} and model_version = '{{ var("model_version") }}'
),

edges as (
    select network, count(*) as edges
    from ({{ edge_state_on() }})
    where weight > 0
    group by network
)

select
    ranks.score_date,
    ranks.model_version,
    ranks.network,
    count(*)                                 as nodes,
    any_value(edges.edges)                   as edges,
    any_value(ranks.iterations_run)          as iterations_run,
    any_value(ranks.final_l1_delta)          as final_l1_delta,
    bool_and(ranks.converged)                as converged,
    {{ exact_sum('ranks.pagerank') }}        as pagerank_sum
from ranks
left join edges using (network)
group by ranks.score_date, ranks.model_version, ranks.network
