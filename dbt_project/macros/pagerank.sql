{#- Weighted PageRank by power iteration, run as one SQL statement per iteration so it can stop as
    soon as it has converged (L1 change of every network's vector below var pagerank_tolerance,
    at most var pagerank_max_iterations). Called while int_pagerank is rendered (execute only);
    leaves three work tables beside it that the model selects from and its post-hook drops:
      <model>__nodes(node_id, network, account_key, node_count, is_dangling)
      <model>__rank(node_id, pagerank)
      <model>__convergence(network, iterations_run, final_l1_delta, converged)
    Iteration:  pr_k(i) = (1 - d) / N + d * ( sum_j pr_{k-1}(j) * w_ji / out_j + dangling_{k-1} / N )
    Start: the previous day's vector where the account was already in the graph (warm start,
    renormalised), 1 / N otherwise. -#}
{% macro pagerank_work_relation(suffix) -%}
    {{ return(api.Relation.create(database=this.database, schema=this.schema, identifier=this.identifier ~ '__' ~ suffix)) }}
{%- endmacro %}

{% macro run_pagerank(edges_sql, previous_rank_sql) %}
    {%- set nodes = pagerank_work_relation('nodes') -%}
    {%- set edges = pagerank_work_relation('edges') -%}
    {%- set rank = pagerank_work_relation('rank') -%}
    {%- set next_rank = pagerank_work_relation('next_rank') -%}
    {%- set convergence = pagerank_work_relation('convergence') -%}
    {%- set damping = run_query('select pagerank_damping from ' ~ ref('int_model_parameters')).columns[0].values()[0] -%}
    {%- set tolerance = var('pagerank_tolerance') | float -%}
    {%- set max_iterations = var('pagerank_max_iterations') | int -%}

    {%- call statement('pagerank_graph') %}
        create or replace table {{ nodes }} as
        with weighted_edges as ({{ edges_sql }}),
        keys as (
            select network, actor_key as account_key from weighted_edges
            union
            select network, target_key from weighted_edges
        )
        select
            (row_number() over (order by network, account_key))::integer     as node_id,
            network,
            account_key,
            count(*) over (partition by network)                              as node_count,
            account_key not in (select actor_key from weighted_edges)         as is_dangling
        from keys;

        create or replace table {{ edges }} as
        with weighted_edges as ({{ edges_sql }})
        select
            actor.node_id                                                                       as source_id,
            target.node_id                                                                      as target_id,
            weighted_edges.weight / sum(weighted_edges.weight) over (partition by actor.node_id) as share
        from weighted_edges
        join {{ nodes }} as actor  on actor.account_key = weighted_edges.actor_key
        join {{ nodes }} as target on target.account_key = weighted_edges.target_key;

        create or replace table {{ rank }} as
        with previous_rank as ({{ previous_rank_sql }}),
        start as (
            select
                nodes.node_id,
                nodes.network,
                coalesce(previous_rank.pagerank, 1.0 / nodes.node_count) as pagerank
            from {{ nodes }} as nodes
            left join previous_rank using (account_key)
        )
        select node_id, network, pagerank / sum(pagerank) over (partition by network) as pagerank
        from start;
    {%- endcall %}

    {%- set state = namespace(iterations=0, delta=none, converged=false, deltas=[]) -%}
    {%- for iteration in range(1, max_iterations + 1) if not state.converged %}
        {%- call statement('pagerank_iteration') %}
            create or replace table {{ next_rank }} as
            with inflow as (
                select edges.target_id as node_id, sum(rank.pagerank * edges.share) as mass
                from {{ edges }} as edges
                join {{ rank }} as rank on rank.node_id = edges.source_id
                group by edges.target_id
            ),
            dangling as (
                select rank.network, sum(rank.pagerank) as mass
                from {{ rank }} as rank
                join {{ nodes }} as nodes using (node_id)
                where nodes.is_dangling
                group by rank.network
            ),
            updated as (
                select
                    nodes.node_id,
                    nodes.network,
                    (1.0 - {{ damping }}) / nodes.node_count
                      + {{ damping }} * (coalesce(inflow.mass, 0.0) + coalesce(dangling.mass, 0.0) / nodes.node_count) as pagerank
                from {{ nodes }} as nodes
                left join inflow using (node_id)
                left join dangling using (network)
            )
            select updated.*, abs(updated.pagerank - rank.pagerank) as abs_change
            from updated
            join {{ rank }} as rank using (node_id);
        {%- endcall %}
        {%- set delta_sql -%}
            select coalesce(max(l1_delta), 0.0) from (
                select network, sum(abs_change) as l1_delta from {{ next_rank }} group by network
            )
        {%- endset -%}
        {%- set state.delta = run_query(delta_sql).columns[0].values()[0] | float -%}
        {%- set state.iterations = iteration -%}
        {%- set state.converged = state.delta < tolerance -%}
        {%- call statement('pagerank_swap') %}
            drop table {{ rank }};
            alter table {{ next_rank }} rename to {{ rank.identifier }};
        {%- endcall %}
    {%- endfor %}

    {%- call statement('pagerank_convergence') %}
        create or replace table {{ convergence }} as
        select
            network,
            {{ state.iterations }}::integer                        as iterations_run,
            {{ state.delta if state.delta is not none else 0.0 }}::double as final_l1_delta,
            {{ 'true' if state.converged or state.delta is none else 'false' }}::boolean as converged
        from (select distinct network from {{ nodes }});
    {%- endcall %}
{% endmacro %}

{% macro drop_pagerank_work_tables() %}
    {%- for suffix in ['nodes', 'edges', 'rank', 'next_rank', 'convergence'] %}
    drop table if exists {{ pagerank_work_relation(suffix) }};
    {%- endfor %}
{% endmacro %}
