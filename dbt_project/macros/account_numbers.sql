{#- The number of each new account key (column account_key) in a select: the next numbers after
    the greatest one in `numbered` (none: the first numbering), in key order, so that the same keys
    get the same numbers when rebuilt. The one numbering rule of int_account_numbers and of the
    one-off conversions of an older warehouse (number_unnumbered_ends). -#}
{% macro next_account_number(numbered=none) -%}
    ({% if numbered is not none %}(select coalesce(max(account_number), 0) from {{ numbered }}){% else %}0{% endif %}
      + row_number() over (order by account_key))::integer
{%- endmacro %}

{#- One-off conversions of an older warehouse (macros/edge_state_migration.sql,
    macros/engagement_pairs_migration.sql): number the ends (actor_key, target_key) of `relation`
    that int_account_numbers has not numbered, after the numbered ones, dated the run day. -#}
{% macro number_unnumbered_ends(relation) %}
    {%- set numbers = ref('int_account_numbers') -%}
            insert into {{ numbers }} (account_key, network, account_number, first_numbered_date)
            with ends as (
                select network, actor_key as account_key from {{ relation }}
                union
                select network, target_key from {{ relation }}
            )
            select
                ends.account_key,
                ends.network,
                {{ next_account_number(numbers) }},
                {{ run_date() }}
            from ends
            anti join {{ numbers }} as numbered using (account_key);
{%- endmacro %}
