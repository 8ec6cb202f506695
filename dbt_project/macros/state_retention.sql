{#- The daily state tables keep the last edge_state_days_kept built days of a model version and
    delete older ones (post-hooks):
      int_pagerank                     every account of the graph, every day
      int_actor_quality                every account that acted, every day
      int_account_daily_contributions  every account engaged, every day
    and int_edge_state, which holds one graph kept in place (a version per edge and day it was
    engaged, macros/edge_state.sql), keeps the versions the graphs of those days are made of.
    Only the run day of each is read, except two reads of the day before: the graph and PageRank's
    warm start. A day can be rebuilt only from the graph of the built day before it, so no older
    day of these tables can be read by a build again; the published marts keep the history.
    int_engagement_pairs_daily keeps a window more (macros/pair_signals.sql). -#}

{#- The oldest of the last edge_state_days_kept days int_pagerank holds for the model version (SQL
    scalar; null before the first build): the built days are counted on int_pagerank, which has a
    row set for every built day whose graph is not empty, because int_edge_state has no row for a
    day nobody engaged on. int_pagerank is built from int_edge_state, so a ref() would be a cycle:
    it is named instead. While int_edge_state builds a day, int_pagerank does not hold that day yet,
    so the graph keeps one day more than the other tables: never too little. -#}
{% macro oldest_kept_state_day() -%}
    {%- set ranks = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_pagerank') -%}
    {%- if ranks is none -%}
    null::date
    {%- else -%}
    {{ oldest_of_last_built_days(ranks, 'score_date') }}
    {%- endif -%}
{%- endmacro %}

{#- The oldest of the last edge_state_days_kept days `relation` holds rows of the model version for,
    on `day_column` (SQL scalar subquery). -#}
{% macro oldest_of_last_built_days(relation, day_column) -%}
    (select min({{ day_column }}) from (
        select distinct {{ day_column }} from {{ relation }}
        where model_version = '{{ var("model_version") }}'
        order by {{ day_column }} desc
        limit {{ var('edge_state_days_kept') | int }}))
{%- endmacro %}

{#- Post-hook of int_edge_state, before the pruning: the run day builds on the graph of the day
    before it. If int_pagerank holds no earlier day although this version ranked a graph on a day
    inside the window before the run day, that graph's versions may have been pruned (an old day is
    being rebuilt): fail, so the day's transaction is rolled back, rather than keep a graph started
    from nothing. The evidence is int_pagerank_convergence, one row per network and day, never
    pruned. Both are built from this model, so a ref() would be a cycle: they are named instead,
    and only their earlier days are read (absent from a new warehouse, whose first build has no
    earlier day anyway). -#}
{% macro check_previous_edge_state_was_kept() %}
    {%- set ranks = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_pagerank') -%}
    {%- set convergence = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_pagerank_convergence') -%}
    {%- if ranks is none or convergence is none %}
    select 1
    {%- else %}
    select
        case
            when not exists (
                     select 1 from {{ ranks }}
                     where model_version = '{{ var("model_version") }}' and score_date < {{ run_date() }})
             and exists (
                     select 1
                     from {{ convergence }} as convergence
                     cross join {{ ref('int_model_parameters') }} as params
                     where convergence.model_version = '{{ var("model_version") }}'
                       and convergence.score_date < {{ run_date() }}
                       and convergence.score_date > {{ run_date() }} - params.inactivity_dropout_days)
            then error('int_edge_state: no decayed state before {{ var("run_date") }} for model_version '
                       || '{{ var("model_version") }}, although it ranked a graph in the window before it: only the '
                       || 'states of the last {{ var("edge_state_days_kept") }} built days are kept (var '
                       || 'edge_state_days_kept); rebuild from the day after the earliest kept state onwards, in order')
        end
    {%- endif %}
{% endmacro %}

{#- Post-hook of the daily state tables (above), on their day column: keeps the last
    edge_state_days_kept days the table holds rows of the version for. A built day without rows (nobody
    acted: no int_actor_quality rows) does not count, so such a table keeps older days instead, never
    fewer. At least 2 days are kept: a failed day is rebuilt from the state before it, after its own
    state has been written. -#}
{% macro keep_last_built_days(day_column) %}
    {%- set days_kept = var('edge_state_days_kept') | int -%}
    {%- if days_kept < 2 -%}
        {{ exceptions.raise_compiler_error("var edge_state_days_kept must be at least 2 (a failed day is rebuilt from the state before it), got " ~ days_kept) }}
    {%- endif %}
    delete from {{ this }}
    where model_version = '{{ var("model_version") }}'
      and {{ day_column }} < {{ oldest_of_last_built_days(this, day_column) }}
{% endmacro %}
