{#- The daily state tables keep the last edge_state_days_kept built days of a model version and
    delete older ones (post-hooks):
      int_edge_state                   the decayed graph: each day's state is the whole 90-day graph
                                       (M: 157M edge rows after 10 days if every state were kept, for
                                       a 26M-edge graph)
      int_pagerank                     every account of the graph, every day
      int_actor_quality                every account that acted, every day
      int_account_daily_contributions  every account engaged, every day
    Only the run day of each is read, except two reads of the day before: the graph and PageRank's
    warm start. A day can be rebuilt only from the kept graph of the built day before it, so no
    older day of these tables can be read by a build again; the published marts keep the history.
    int_engagement_pairs_daily keeps a window more (macros/pair_signals.sql). -#}

{#- Post-hook of int_edge_state, before the pruning: the run day builds on the latest earlier state.
    If there was none although this version ranked a graph on a day inside the window before the
    run day, that state had been pruned (an old day is being rebuilt): fail, so the day's
    transaction is rolled back, rather than keep a graph started from nothing. A post-hook, not a
    pre-hook: this read before the insert doubled the insert's time (M, day 10: 10 s -> 19.5 s,
    measured by dbt runs of this model alone).
    The evidence is int_pagerank_convergence, one row per network and day, never pruned. It is built
    from this model, so a ref() would be a cycle: it is named instead, and only its earlier days are
    read (absent from a new warehouse, whose first build has no earlier day anyway). -#}
{% macro check_previous_edge_state_was_kept() %}
    {%- set convergence = adapter.get_relation(database=this.database, schema=this.schema, identifier='int_pagerank_convergence') -%}
    {%- if convergence is none %}
    select 1
    {%- else %}
    select
        case
            when not exists (
                     select 1 from {{ this }}
                     where model_version = '{{ var("model_version") }}' and state_date < {{ run_date() }})
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
      and {{ day_column }} < (
          select min({{ day_column }})
          from (
              select distinct {{ day_column }}
              from {{ this }}
              where model_version = '{{ var("model_version") }}'
              order by {{ day_column }} desc
              limit {{ days_kept }}
          )
      )
{% endmacro %}
