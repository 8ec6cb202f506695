{#- Weighted PageRank by power iteration, run as one SQL statement per iteration so it can stop as
    soon as it has converged (L1 change of every network's vector below var pagerank_tolerance,
    at most var pagerank_max_iterations). Called while int_pagerank is rendered (execute only);
    leaves temp work tables that the model selects from and its post-hook drops:
      <model>__nodes(node_id, network, account_key, node_count, is_dangling, is_core, out_weight)
    edges_sql gives (network, source_id, target_id, weight) with INTEGER node ids (account numbers),
    node_keys_sql (node_id, account_key) for at least those ids, previous_rank_sql (account_key, pagerank).
      <model>__result(node_id, pagerank)
      <model>__convergence(network, edges, iterations_run, final_l1_delta, converged)
    Iteration:  pr_k(i) = (1 - d) / N + d * ( sum_j pr_{k-1}(j) * w_ji / out_j + dangling_{k-1} / N )
    Start: the previous day's vector where the account was already in the graph (warm start,
    renormalised), 1 / N otherwise. -#}
{#- Work tables are TEMP tables: in memory, never written to the warehouse file, private to the
    connection that builds the model (hooks, run_query and the model's own SQL share it). -#}
{% macro pagerank_work_relation(suffix) -%}
    {{ return(adapter.quote(this.identifier ~ '__' ~ suffix)) }}
{%- endmacro %}

{% macro run_pagerank(edges_sql, node_keys_sql, previous_rank_sql) %}
    {#- Accounts nobody engaged ("leaves": most reactors) all have the same rank in an iteration,
        u_k = (1 - d)/N + d * dangling_{k-1}/N, so they are kept as one value per network and only
        accounts with incoming edges ("core") are iterated: the same result, a fraction of the work. -#}
    {%- set nodes = pagerank_work_relation('nodes') -%}
    {%- set weighted_edges = pagerank_work_relation('weighted_edges') -%}
    {%- set core_edges = pagerank_work_relation('core_edges') -%}
    {%- set rank = pagerank_work_relation('rank') -%}
    {%- set next_rank = pagerank_work_relation('next_rank') -%}
    {%- set leaf = pagerank_work_relation('leaf') -%}
    {%- set next_leaf = pagerank_work_relation('next_leaf') -%}
    {%- set convergence = pagerank_work_relation('convergence') -%}
    {%- set damping = run_query('select pagerank_damping from ' ~ ref('int_model_parameters')).columns[0].values()[0] -%}
    {%- set tolerance = var('pagerank_tolerance') | float -%}
    {%- set max_iterations = var('pagerank_max_iterations') | int -%}

    {%- call statement('pagerank_graph') %}
        -- The edge query runs once: the nodes and the edges below both read it, and re-running it
        -- (a filter of the whole decayed state) cost as much as the rest of the set-up.
        create or replace temp table {{ weighted_edges }} as {{ edges_sql }};

        -- the graph's size for int_pagerank_convergence, counted here while the edges are at hand:
        -- counting them there filtered the whole decayed state once more (2.2 s on day 10 at M)
        create or replace temp table {{ pagerank_work_relation('edge_counts') }} as
        select network, count(*) as edges from {{ weighted_edges }} group by network;

        -- One pass over both ends of every edge instead of two IN-subqueries over all the edges; it
        -- also sums each actor's out-weight (no out-weight: a dangling node). The account key is
        -- looked up once per node here; everything after works on the ids.
        create or replace temp table {{ nodes }} as
        with endpoints as (
            select network, source_id as node_id, weight as out_weight, false as has_in_edge
            from {{ weighted_edges }}
            union all
            select network, target_id, null, true
            from {{ weighted_edges }}
        ),
        ids as (
            select node_id, any_value(network) as network, {{ exact_sum('out_weight') }} as out_weight,
                   bool_or(has_in_edge) as has_in_edge
            from endpoints
            group by node_id
        ),
        node_keys as ({{ node_keys_sql }})
        select
            ids.node_id,
            ids.network,
            node_keys.account_key,
            count(*) over (partition by ids.network)                          as node_count,
            ids.out_weight is null                                            as is_dangling,
            ids.has_in_edge                                                   as is_core,
            ids.out_weight
        from ids
        join node_keys using (node_id);

        -- An edge's share of its actor's out-weight, split once here by the actor's kind: the edges
        -- out of leaves (all leaves have one rank) become each core account's share of inflow from
        -- leaves, and what the iterations join is the edges out of core accounts (at L three edges
        -- in four). Two joins of the edges to their actors instead of the out-weights aggregated
        -- apart and a table of all the shares: on day 10 at M (26M edges) 6.7-7.8 s from here to
        -- the end of the set-up against 8.5-10.6 s, the same rows.
        create or replace temp table {{ pagerank_work_relation('leaf_inflow') }} as
        select weighted_edges.target_id as node_id, {{ exact_sum('weighted_edges.weight / source.out_weight') }} as leaf_share
        from {{ weighted_edges }} as weighted_edges
        join {{ nodes }} as source on source.node_id = weighted_edges.source_id
        where not source.is_core
        group by weighted_edges.target_id;

        create or replace temp table {{ core_edges }} as
        select weighted_edges.source_id, weighted_edges.target_id, weighted_edges.weight / source.out_weight as share
        from {{ weighted_edges }} as weighted_edges
        join {{ nodes }} as source on source.node_id = weighted_edges.source_id
        where source.is_core;
        drop table {{ weighted_edges }};  -- core_edges and leaf_inflow hold all the iterations need

        create or replace temp table {{ pagerank_work_relation('start') }} as
        with previous_rank as ({{ previous_rank_sql }}),
        start as (
            select nodes.node_id, nodes.network, nodes.is_core, nodes.node_count,
                   coalesce(previous_rank.pagerank, 1.0 / nodes.node_count) as pagerank
            from {{ nodes }} as nodes
            left join previous_rank using (account_key)
        )
        select node_id, network, is_core, node_count, pagerank / {{ exact_sum('pagerank', over='partition by network') }} as pagerank
        from start;

        create or replace temp table {{ rank }} as
        select node_id, network, pagerank from {{ pagerank_work_relation('start') }} where is_core;

        create or replace temp table {{ leaf }} as
        select network, any_value(node_count) as node_count,
               count(*) filter (where not is_core) as leaves,
               coalesce({{ exact_sum('pagerank', where='not is_core') }} / nullif(count(*) filter (where not is_core), 0), 0.0) as pagerank
        from {{ pagerank_work_relation('start') }}
        group by network;
    {%- endcall %}

    {%- set state = namespace(iterations=0, delta=none, converged=false) -%}
    {%- for iteration in range(1, max_iterations + 1) if not state.converged %}
        {%- call statement('pagerank_iteration') %}
            create or replace temp table {{ next_leaf }} as
            with dangling as (
                select rank.network, {{ unit_sum('rank.pagerank') }} as mass
                from {{ rank }} as rank
                join {{ nodes }} as nodes using (node_id)
                where nodes.is_dangling
                group by rank.network
            )
            select
                leaf.network,
                leaf.node_count,
                leaf.leaves,
                (1.0 - {{ damping }}) / leaf.node_count
                  + {{ damping }} * coalesce(dangling.mass, 0.0) / leaf.node_count   as pagerank,
                leaf.pagerank                                                      as previous_pagerank
            from {{ leaf }} as leaf
            left join dangling using (network);

            create or replace temp table {{ next_rank }} as
            with inflow as (
                select edges.target_id as node_id, {{ unit_sum('rank.pagerank * edges.share') }} as mass
                from {{ core_edges }} as edges
                join {{ rank }} as rank on rank.node_id = edges.source_id
                group by edges.target_id
            )
            select
                rank.node_id,
                rank.network,
                next_leaf.pagerank
                  + {{ damping }} * (coalesce(inflow.mass, 0.0)
                                     + next_leaf.previous_pagerank * coalesce(leaf_inflow.leaf_share, 0.0)) as pagerank,
                rank.pagerank                                                                                 as previous_pagerank
            from {{ rank }} as rank
            join {{ next_leaf }} as next_leaf using (network)
            left join inflow using (node_id)
            left join {{ pagerank_work_relation('leaf_inflow') }} as leaf_inflow using (node_id);
        {%- endcall %}
        {%- set delta_sql -%}
            select coalesce(max(core.l1_delta + leaf.leaves * abs(leaf.pagerank - leaf.previous_pagerank)), 0.0)
            from (select network, {{ unit_sum('abs(pagerank - previous_pagerank)') }} as l1_delta from {{ next_rank }} group by network) as core
            join {{ next_leaf }} as leaf using (network)
        {%- endset -%}
        {%- set state.delta = run_query(delta_sql).columns[0].values()[0] | float -%}
        {%- set state.iterations = iteration -%}
        {%- set state.converged = state.delta < tolerance -%}
        {%- call statement('pagerank_swap') %}
            drop table {{ rank }};
            alter table {{ next_rank }} rename to {{ rank }};
            drop table {{ leaf }};
            alter table {{ next_leaf }} rename to {{ leaf }};
        {%- endcall %}
    {%- endfor %}

    {%- call statement('pagerank_result') %}
        create or replace temp table {{ pagerank_work_relation('result') }} as
        select nodes.node_id, coalesce(rank.pagerank, leaf.pagerank) as pagerank
        from {{ nodes }} as nodes
        left join {{ rank }} as rank using (node_id)
        join {{ leaf }} as leaf on leaf.network = nodes.network;

        create or replace temp table {{ convergence }} as
        select
            network,
            coalesce(edge_counts.edges, 0)                                     as edges,
            {{ state.iterations }}::integer                                    as iterations_run,
            {{ state.delta if state.delta is not none else 0.0 }}::double      as final_l1_delta,
            {{ 'true' if state.converged or state.delta is none else 'false' }}::boolean as converged
        from (select distinct network from {{ nodes }})
        left join {{ pagerank_work_relation('edge_counts') }} as edge_counts using (network);
    {%- endcall %}
{% endmacro %}

{% macro drop_pagerank_work_tables() %}
    {%- for suffix in ['weighted_edges', 'edge_counts', 'nodes', 'core_edges', 'leaf_inflow', 'start', 'rank', 'next_rank', 'leaf', 'next_leaf', 'result', 'convergence'] %}
    drop table if exists {{ pagerank_work_relation(suffix) }};
    {%- endfor %}
{% endmacro %}
