{#- Pre-hook of int_edge_state: converts the graph a warehouse built by an earlier release holds to
    the current layout, once (afterwards the hook renders nothing). The kept graph is the only copy
    of the decayed state (it is maintained from day to day, never from the raw history), so it is
    converted, not dropped. Two older layouts, one step each, in this order:
    1. string ends (actor_key, target_key; before account numbers): the accounts at the ends are
       numbered after the ones int_account_numbers numbered for the run day (the same rule,
       next_account_number) and the ends replaced by their numbers;
    2. one copy of the whole graph per kept day (state_date; before the graph was kept in place):
       every edge engaged on day E appears, with last_engaged_date E, in each kept copy from E on;
       its version of E is its weight in the earliest of those copies, un-decayed back to E (exact
       when that copy is E's own), linked to the edge's next version by superseded_date. Every kept
       day's graph is then what it was, so the kept days can still be rebuilt.
    A before_begin hook, each step in a transaction of its own: inside the model's transaction the
    uncommitted rewrite (177M edges at L, 80 s) left the model's own query out of memory. -#}
{% macro migrate_edge_state() %}
    {%- if execute -%}
        {%- set columns = persisted_columns() -%}
        {%- set converted = conversion_relation() -%}
        {%- if 'state_date' in columns -%}
            {#- get_columns_in_relation opened dbt's transaction (its statements auto-begin): close
                it, so the rewrites below run and commit in transactions of their own -#}
            {%- do adapter.commit() -%}
        {%- endif -%}
        {%- if 'actor_key' in columns -%}
            {%- set numbers = ref('int_account_numbers') -%}
            {%- do log('int_edge_state: converting the kept states from string ends to account numbers (one-off)', info=true) -%}
            begin transaction;

            {{ number_unnumbered_ends(this) }}

            create or replace table {{ converted }} as
            select
                state.state_date,
                state.model_version,
                state.network,
                actor.account_number    as actor_number,
                target.account_number   as target_number,
                state.weight,
                state.last_engaged_date
            from {{ this }} as state
            join {{ numbers }} as actor on actor.account_key = state.actor_key
            join {{ numbers }} as target on target.account_key = state.target_key;

            {{ replace_with_conversion() }}
            commit;
        {%- endif %}
        {%- if 'state_date' in columns -%}
            {%- do log('int_edge_state: converting the kept daily copies of the graph to versions kept in place (one-off)', info=true) -%}
            begin transaction;

            create or replace table {{ converted }} as
            with versions as (
                select
                    state.model_version,
                    any_value(state.network)                                       as network,
                    state.actor_number,
                    state.target_number,
                    state.last_engaged_date                                        as engaged_date,
                    arg_min(state.weight / pow(0.5, (state.state_date - state.last_engaged_date) / parameters.half_life_days),
                            state.state_date)                                      as weight
                from {{ this }} as state
                join {{ ref('model_versions') }} as parameters using (model_version)
                group by state.model_version, state.actor_number, state.target_number, state.last_engaged_date
            )
            select
                engaged_date,
                model_version,
                network,
                actor_number,
                target_number,
                weight,
                lead(engaged_date) over (partition by model_version, actor_number, target_number
                                         order by engaged_date)                    as superseded_date
            from versions;

            {{ replace_with_conversion() }}
            commit;
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
