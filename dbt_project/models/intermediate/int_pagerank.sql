-- Weighted PageRank per network over the decayed engagement graph of the run day (int_edge_state):
--   pr_k(i) = (1 - d) / N + d * ( sum_j pr_{k-1}(j) * w_ji / out_j  +  dangling_{k-1} / N )
-- with dangling mass (accounts that engaged nobody) spread evenly. var pagerank_iterations power
-- iterations are unrolled as materialised CTEs; each iteration's L1 change is kept so the run can
-- report when it converged. pagerank_normalized = pr * N has mean 1 in every network.
{%- set iterations = var('pagerank_iterations') | int %}
with params as (
    select pagerank_damping as damping from {{ ref('int_model_parameters') }}
),

edges_by_key as (
    select network, actor_key, target_key, weight
    from {{ ref('int_edge_state') }}
    where state_date = {{ run_date() }}
      and model_version = '{{ var("model_version") }}'
      and weight > 0
),

nodes as materialized (
    select
        network,
        node_key,
        (row_number() over (order by network, node_key))::integer                as node_id,
        count(*) over (partition by network)                                      as node_count
    from (
        select network, actor_key as node_key from edges_by_key
        union
        select network, target_key from edges_by_key
    )
),

edges as materialized (
    select
        actor.node_id                                                        as source_id,
        target.node_id                                                       as target_id,
        edges_by_key.weight / sum(edges_by_key.weight) over (partition by actor.node_id) as share
    from edges_by_key
    join nodes as actor  on actor.network = edges_by_key.network and actor.node_key = edges_by_key.actor_key
    join nodes as target on target.network = edges_by_key.network and target.node_key = edges_by_key.target_key
),

node_info as materialized (
    select
        nodes.node_id,
        nodes.network,
        nodes.node_count,
        not exists (select 1 from edges where edges.source_id = nodes.node_id) as is_dangling
    from nodes
),

pr_0 as materialized (
    select node_id, 1.0 / node_count as pr from node_info
)
{%- for k in range(1, iterations + 1) %},

dangling_{{ k }} as (
    select node_info.network, sum(pr_{{ k - 1 }}.pr) as mass
    from pr_{{ k - 1 }}
    join node_info using (node_id)
    where node_info.is_dangling
    group by node_info.network
),

inflow_{{ k }} as (
    select edges.target_id as node_id, sum(pr_{{ k - 1 }}.pr * edges.share) as mass
    from edges
    join pr_{{ k - 1 }} on pr_{{ k - 1 }}.node_id = edges.source_id
    group by edges.target_id
),

pr_{{ k }} as materialized (
    select
        node_info.node_id,
        (1.0 - params.damping) / node_info.node_count
          + params.damping * (coalesce(inflow_{{ k }}.mass, 0.0)
                              + coalesce(dangling_{{ k }}.mass, 0.0) / node_info.node_count) as pr
    from node_info
    cross join params
    left join inflow_{{ k }} using (node_id)
    left join dangling_{{ k }} using (network)
),

delta_{{ k }} as (
    select node_info.network, {{ k }} as iteration, sum(abs(pr_{{ k }}.pr - pr_{{ k - 1 }}.pr)) as l1_delta
    from pr_{{ k }}
    join pr_{{ k - 1 }} using (node_id)
    join node_info using (node_id)
    group by node_info.network
)
{%- endfor %},

deltas as (
    {%- for k in range(1, iterations + 1) %}
    select * from delta_{{ k }}{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

convergence as (
    select
        network,
        {{ iterations }}                                                              as iterations_run,
        min(iteration) filter (where l1_delta < {{ var('pagerank_tolerance') }})      as converged_at_iteration,
        arg_max(l1_delta, iteration)                                                  as final_l1_delta
    from deltas
    group by network
)

select
    {{ run_date() }}                                 as score_date,
    '{{ var("model_version") }}'                     as model_version,
    nodes.network,
    nodes.node_key                                   as account_key,
    pr_{{ iterations }}.pr                           as pagerank,
    pr_{{ iterations }}.pr * nodes.node_count        as pagerank_normalized,
    nodes.node_count                                 as network_nodes,
    convergence.iterations_run,
    convergence.converged_at_iteration,
    convergence.final_l1_delta
from nodes
join pr_{{ iterations }} using (node_id)
join convergence using (network)
