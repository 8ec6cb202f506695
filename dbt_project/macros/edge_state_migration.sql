{#- Pre-hook of int_edge_state: a warehouse built before the graph was keyed by account numbers
    (int_account_numbers) holds int_edge_state with string ends (actor_key, target_key). Its kept
    states are the only copy of the decayed graph (they are maintained from day to day, never from
    the raw history), so they are converted, not dropped: the accounts at their ends are numbered
    after the ones int_account_numbers numbered for the run day (the same rule,
    next_account_number), and the table is rewritten with numbered ends. Runs once: afterwards the
    table has no actor_key column and the hook renders nothing. A before_begin hook with a
    transaction of its own: inside the model's transaction the uncommitted rewrite (177M edges at
    L, 80 s) left the model's own query out of memory. -#}
{% macro migrate_edge_state_to_account_numbers() %}
    {%- if execute -%}
        {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
        {%- if existing is not none
              and 'actor_key' in (adapter.get_columns_in_relation(existing) | map(attribute='name') | list) -%}
            {%- set numbers = ref('int_account_numbers') -%}
            {%- set converted = this.incorporate(path={'identifier': this.identifier ~ '__numbered'}) -%}
            {%- do log('int_edge_state: converting the kept states from string ends to account numbers (one-off)', info=true) -%}
            {#- get_columns_in_relation opened dbt's transaction (its statements auto-begin): close
                it, so the rewrite below runs and commits in a transaction of its own -#}
            {%- do adapter.commit() -%}
            begin transaction;

            insert into {{ numbers }} (account_key, network, account_number, first_numbered_date)
            with ends as (
                select network, actor_key as account_key from {{ this }}
                union
                select network, target_key from {{ this }}
            )
            select
                ends.account_key,
                ends.network,
                {{ next_account_number(numbers) }},
                {{ run_date() }}
            from ends
            anti join {{ numbers }} as numbered using (account_key);

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

            drop table {{ this }};
            alter table {{ converted }} rename to {{ adapter.quote(this.identifier) }};
            commit;
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
