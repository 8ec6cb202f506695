{#- The decayed engagement graph kept in place (int_edge_state): one version per edge and day it was
    engaged, linked to the next one by superseded_date. -#}

{#- The graph on the run day: (network, actor_number, target_number, weight, engaged_date) of every
    edge, its weight decayed to the day. What int_pagerank ranks (and counts, for int_pagerank_convergence). -#}
{% macro edge_state_on() -%}
    {%- set day = run_date() -%}
    select
        state.network,
        state.actor_number,
        state.target_number,
        state.weight * pow(0.5, ({{ day }} - state.engaged_date) / params.half_life_days) as weight,
        state.engaged_date
    from {{ ref('int_edge_state') }} as state
    cross join {{ ref('int_model_parameters') }} as params
    where state.model_version = '{{ var("model_version") }}'
      and state.engaged_date <= {{ day }}
      and state.engaged_date > {{ day }} - params.inactivity_dropout_days
      and (state.superseded_date is null or state.superseded_date > {{ day }})
{%- endmacro %}

{#- Pre-hook (in the model's transaction): a rebuild of the run day first removes the day's own
    versions, so a day that lost edges (late corrections) keeps none of them; dbt's delete+insert
    only deletes the days its new rows have. The versions they superseded are relinked by
    link_edge_versions. -#}
{% macro delete_edge_versions_of_run_day() %}
    {%- if is_incremental() %}
    delete from {{ this }}
    where engaged_date = {{ run_date() }} and model_version = '{{ var("model_version") }}'
    {%- else %}
    select 1
    {%- endif %}
{% endmacro %}

{#- Post-hook: superseded_date of every version of the edges the run day touched (engaged on it,
    or engaged on it in a build this one replaced) is the edge's next engaged_date, null for the
    latest. A rebuild of an earlier day (later days built) links its versions between the ones
    before and after it. Only the touched edges are read by the window; the rest keep their links. -#}
{% macro link_edge_versions() %}
    update {{ this }} as version
    set superseded_date = relinked.next_engaged_date
    from (
        select actor_number, target_number, engaged_date, next_engaged_date
        from (
            select
                state.actor_number,
                state.target_number,
                state.engaged_date,
                state.superseded_date,
                lead(state.engaged_date) over (partition by state.actor_number, state.target_number
                                               order by state.engaged_date) as next_engaged_date
            from {{ this }} as state
            semi join (
                select actor_number, target_number
                from {{ this }}
                where model_version = '{{ var("model_version") }}'
                  and (engaged_date = {{ run_date() }} or superseded_date = {{ run_date() }})
            ) as touched using (actor_number, target_number)
            where state.model_version = '{{ var("model_version") }}'
        )
        -- only the links that change: the update's join is then built on a few rows
        where superseded_date is distinct from next_engaged_date
    ) as relinked
    where version.model_version = '{{ var("model_version") }}'
      and version.actor_number = relinked.actor_number
      and version.target_number = relinked.target_number
      and version.engaged_date = relinked.engaged_date
{% endmacro %}

{#- Post-hook, after check_previous_edge_state_was_kept: a day can be rebuilt only from the graph of
    the day before it, and only the last edge_state_days_kept built days (int_pagerank's kept days,
    macros/state_retention.sql) can be, so no graph before the oldest of them is read again. A
    version is part of no such graph once it was superseded on or before that day, or engaged
    inactivity_dropout_days or more before it: deleted. -#}
{% macro prune_edge_versions() %}
    delete from {{ this }} as version
    using (
        select oldest.day as oldest_kept_day, oldest.day - params.inactivity_dropout_days as dropped_out_by
        from (select {{ oldest_kept_state_day() }} as day) as oldest
        cross join {{ ref('int_model_parameters') }} as params
    ) as horizon
    where version.model_version = '{{ var("model_version") }}'
      and (version.superseded_date <= horizon.oldest_kept_day or version.engaged_date <= horizon.dropped_out_by)
{% endmacro %}
