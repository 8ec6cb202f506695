{#- A sum of doubles that does not depend on the order DuckDB's threads add the rows in.
    DuckDB aggregates doubles in parallel and combines the partial sums in whatever order the
    threads finish, so the same input can sum to values that differ in the last bits (seen in
    PageRank: 7.326412689975102e-05 vs 7.326412689975117e-05), and re-running a day would not
    publish bit-identical rows. A DECIMAL(38, 18) sum is an exact integer sum, the same in any
    order; 18 decimals keep 11 significant digits of a PageRank share in a 10M-node graph, and 20
    integer digits are far above any weight or factor value. `where` becomes a FILTER clause,
    `over` a window (the partition clause). -#}
{% macro exact_sum(expression, where=none, over=none) -%}
    cast(sum(cast({{ expression }} as decimal(38, 18)))
        {%- if where %} filter (where {{ where }}){% endif %}
        {%- if over %} over ({{ over }}){% endif %} as double)
{%- endmacro %}
