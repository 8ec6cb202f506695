{#- The number of each new account key (column account_key) in a select: the next numbers after
    the greatest one in `numbered` (none: the first numbering), in key order, so that the same keys
    get the same numbers when rebuilt. The one numbering rule of int_account_numbers and of the
    one-off conversion of an old graph (macros/edge_state_migration.sql). -#}
{% macro next_account_number(numbered=none) -%}
    ({% if numbered is not none %}(select coalesce(max(account_number), 0) from {{ numbered }}){% else %}0{% endif %}
      + row_number() over (order by account_key))::integer
{%- endmacro %}
