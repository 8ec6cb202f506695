{#- Pre-hook of int_engagement_pairs_daily: gives the pairs a warehouse built by an earlier release
    holds their ends as account numbers (actor_number, target_number), once (afterwards the hook
    renders nothing). The kept pairs are the 7-day signal windows of the next days, which read the
    numbers, so they are converted, not dropped. An end that int_account_numbers has not numbered
    (a warehouse from before account numbers) is numbered here, after the run day's accounts, by
    the same rule (next_account_number). A before_begin hook in a transaction of its own, like
    migrate_edge_state: at L the kept pairs are hundreds of millions of rows. -#}
{% macro number_engagement_pair_ends() %}
    {%- if execute -%}
        {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
        {%- set columns = (adapter.get_columns_in_relation(existing) | map(attribute='name') | list) if existing is not none else [] -%}
        {%- if columns and 'actor_number' not in columns -%}
            {%- set numbers = ref('int_account_numbers') -%}
            {%- set converted = this.incorporate(path={'identifier': this.identifier ~ '__converted'}) -%}
            {#- get_columns_in_relation opened dbt's transaction (its statements auto-begin): close
                it, so the rewrite below runs and commits in a transaction of its own -#}
            {%- do adapter.commit() -%}
            {%- do log('int_engagement_pairs_daily: numbering the ends of the kept pairs (one-off)', info=true) -%}
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
                pairs.activity_date,
                pairs.network,
                pairs.actor_key,
                pairs.target_key,
                actor.account_number    as actor_number,
                target.account_number   as target_number,
                pairs.scored_events,
                pairs.reshares,
                pairs.conversation_events,
                pairs.mentions,
                pairs.appreciation_events
            from {{ this }} as pairs
            join {{ numbers }} as actor on actor.account_key = pairs.actor_key
            join {{ numbers }} as target on target.account_key = pairs.target_key;

            drop table {{ this }};
            alter table {{ converted }} rename to {{ adapter.quote(this.identifier) }};
            commit;
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
