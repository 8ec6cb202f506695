{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version']) }}
-- One row per network and run day: graph size, power iterations run, the last L1 change of the
-- PageRank vector, and whether it fell below var pagerank_tolerance (all recorded by int_pagerank
-- as it ranked the graph).
select
    score_date,
    model_version,
    network,
    count(*)                                 as nodes,
    any_value(network_edges)                 as edges,
    any_value(iterations_run)                as iterations_run,
    any_value(final_l1_delta)                as final_l1_delta,
    bool_and(converged)                      as converged,
    {{ exact_sum('pagerank') }}              as pagerank_sum
from {{ ref('int_pagerank') }}
where score_date = {{ run_date() }} and model_version = '{{ var("model_version") }}'
group by score_date, model_version, network
