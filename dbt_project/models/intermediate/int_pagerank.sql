{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key=['score_date', 'model_version'],
    pre_hook="{{ add_columns_added_later({'network_edges': 'bigint'}) }}",
    post_hook=["{{ drop_pagerank_work_tables() }}", "{{ keep_last_built_days('score_date') }}"]
) }}
-- depends_on: {{ ref("int_model_parameters") }}
-- Weighted PageRank per network over the run day's decayed engagement graph (int_edge_state, edge_state_on),
-- iterated until converged (macros/pagerank.sql, docs/model.md §4). pagerank_normalized = pagerank
-- * nodes in the network, so the average account has 1; an engagement's network_influence weight is
-- its actor's greatest(influence_multiplier_floor, log2(1 + pagerank_normalized)) (floor 1 from 1.1.0).
{%- set edges_sql -%}
    select network, actor_number as source_id, target_number as target_id, weight
    from ({{ edge_state_on() }})
    where weight > 0
{%- endset -%}
{%- set node_keys_sql -%}
    select account_number as node_id, account_key from {{ ref('int_account_numbers') }}
{%- endset -%}
{%- set previous_rank_sql -%}
    {%- if is_incremental() -%}
    select account_key, pagerank
    from {{ this }}
    where model_version = '{{ var("model_version") }}'
      and score_date = (select max(score_date) from {{ this }}
                        where score_date < {{ run_date() }} and model_version = '{{ var("model_version") }}')
    {%- else -%}
    select null::varchar as account_key, null::double as pagerank where false
    {%- endif -%}
{%- endset -%}
{%- if execute %}{% do run_pagerank(edges_sql, node_keys_sql, previous_rank_sql) %}{% endif %}

select
    {{ run_date() }}::date                               as score_date,
    '{{ var("model_version") }}'::varchar                as model_version,
    nodes.network,
    nodes.account_key,
    rank.pagerank,
    rank.pagerank * nodes.node_count                     as pagerank_normalized,
    nodes.node_count                                     as network_nodes,
    convergence.edges                                    as network_edges,
    convergence.iterations_run,
    convergence.final_l1_delta,
    convergence.converged
from {{ pagerank_work_relation('nodes') }} as nodes
join {{ pagerank_work_relation('result') }} as rank on rank.node_id = nodes.node_id
join {{ pagerank_work_relation('convergence') }} as convergence on convergence.network = nodes.network
