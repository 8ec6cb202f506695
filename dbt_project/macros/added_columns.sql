{#- Pre-hook of an incremental state table that gained a column in a later release: adds the column
    (null on the days already kept) to the table of an older warehouse, once; afterwards it renders
    nothing. The project's on_schema_change `fail` then still stops the build on any other change.
    For a column no reader needs on the kept days: int_pagerank's network_edges is only read for
    the run day. `columns` maps each added column to its type. -#}
{% macro add_columns_added_later(columns) %}
    {%- if execute and is_incremental() -%}
        {%- set existing = persisted_columns() -%}
        {%- for name, data_type in columns.items() if name not in existing %}
    alter table {{ this }} add column {{ adapter.quote(name) }} {{ data_type }};
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
