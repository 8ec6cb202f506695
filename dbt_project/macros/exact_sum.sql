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

{#- The same order-independence for the PageRank iterations' sums, whose terms are ranks, rank
    shares and rank differences (each within [-1, 1]): every term is rounded to a multiple of 1e-18
    as a BIGINT and the BIGINTs are summed exactly (DuckDB sums BIGINT into a 128-bit integer). The
    resolution is exact_sum's 18 decimals; the rounding is one double multiply and conversion per
    row instead of a conversion to a 128-bit DECIMAL (0.2-0.8 s less in each of three paired
    6-9 s iterations over the 50M core edges of the L benchmark's day 4, run standalone). A term outside +-9.2 (BIGINT's
    range at that scale) is a conversion error, never a wrong sum. -#}
{% macro unit_sum(expression) -%}
    cast(sum(cast(({{ expression }}) * 1e18 as bigint)) as double) / 1e18
{%- endmacro %}
