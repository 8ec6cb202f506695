{#- int_edge_state keeps the decayed states of the last edge_state_days_kept built days of a model
    version and deletes older ones (post-hook). Each state holds the whole 90-day graph and the next
    day reads only the latest: keeping every day's state would grow the warehouse by the whole graph
    every day (M scale: 157M edge rows after 10 days, for a 26M-edge graph). -#}

{#- Post-hook, before the pruning: the run day builds on the latest earlier state. If there was none
    although accounts engaged inside the window before the run day, that state had been pruned (an
    old day is being rebuilt): fail, so the day's transaction is rolled back, rather than keep a
    graph started from nothing. A post-hook, not a pre-hook: this read before the insert doubled
    the insert's time (M, day 10: 10 s -> 19.5 s, measured by dbt runs of this model alone). -#}
{% macro check_previous_edge_state_was_kept() %}
    select
        case
            when not exists (
                     select 1 from {{ this }}
                     where model_version = '{{ var("model_version") }}' and state_date < {{ run_date() }})
             and exists (
                     select 1
                     from {{ ref('int_actor_quality') }} as quality
                     cross join {{ ref('int_model_parameters') }} as params
                     where quality.model_version = '{{ var("model_version") }}'
                       and quality.activity_date < {{ run_date() }}
                       and quality.activity_date > {{ run_date() }} - params.inactivity_dropout_days)
            then error('int_edge_state: no decayed state before {{ var("run_date") }} for model_version '
                       || '{{ var("model_version") }}, although accounts engaged in the window before it: only the '
                       || 'states of the last {{ var("edge_state_days_kept") }} built days are kept (var '
                       || 'edge_state_days_kept); rebuild from the day after the earliest kept state onwards, in order')
        end
{% endmacro %}

{#- Post-hook. At least 2 days are kept: a failed day is rebuilt from the state before it, after
    its own state has been written. -#}
{% macro prune_edge_states() %}
    {%- set days_kept = var('edge_state_days_kept') | int -%}
    {%- if days_kept < 2 -%}
        {{ exceptions.raise_compiler_error("var edge_state_days_kept must be at least 2 (a failed day is rebuilt from the state before it), got " ~ days_kept) }}
    {%- endif %}
    delete from {{ this }}
    where model_version = '{{ var("model_version") }}'
      and state_date < (
          select min(state_date)
          from (
              select distinct state_date
              from {{ this }}
              where model_version = '{{ var("model_version") }}'
              order by state_date desc
              limit {{ days_kept }}
          )
      )
{% endmacro %}
