{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version']) }}
-- One row per network and run day: graph size, iterations run and when PageRank converged.
select
    score_date,
    model_version,
    network,
    any_value(network_nodes)                      as nodes,
    (select count(*) from {{ ref('int_edge_state') }} as edges
      where edges.state_date = {{ run_date() }}
        and edges.model_version = '{{ var("model_version") }}'
        and edges.network = pagerank.network)     as edges,
    any_value(iterations_run)                     as iterations_run,
    any_value(converged_at_iteration)             as converged_at_iteration,
    any_value(final_l1_delta)                     as final_l1_delta,
    sum(pagerank)                                 as pagerank_sum
from {{ ref('int_pagerank') }} as pagerank
group by score_date, model_version, network
