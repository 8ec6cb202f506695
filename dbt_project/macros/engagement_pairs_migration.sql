{#- Pre-hook of int_engagement_pairs_daily: gives the pairs a warehouse built by an earlier release
    holds their ends as account numbers (actor_number, target_number), once (afterwards the hook
    renders nothing). The kept pairs are the 7-day signal windows of the next days, which read the
    numbers, so they are converted, not dropped. An end that int_account_numbers has not numbered
    (a warehouse from before account numbers) is numbered here, after the run day's accounts, by
    the same rule (next_account_number). A before_begin hook in a transaction of its own, like
    migrate_edge_state: at L the kept pairs are hundreds of millions of rows. -#}
{% macro number_engagement_pair_ends() %}
    {%- if execute -%}
        {%- set columns = persisted_columns() -%}
        {%- if columns and 'actor_number' not in columns -%}
            {%- set numbers = ref('int_account_numbers') -%}
            {%- set converted = conversion_relation() -%}
            {#- get_columns_in_relation opened dbt's transaction (its statements auto-begin): close
                it, so the rewrite below runs and commits in a transaction of its own -#}
            {%- do adapter.commit() -%}
            {%- do log('int_engagement_pairs_daily: numbering the ends of the kept pairs (one-off)', info=true) -%}
            begin transaction;

            {{ number_unnumbered_ends(this) }}

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

            {{ replace_with_conversion() }}
            commit;
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
