{#- Shared steps of the one-off conversions of an older warehouse's state tables, run by the
    tables' pre-hooks (macros/edge_state_migration.sql, macros/engagement_pairs_migration.sql,
    macros/added_columns.sql). -#}

{#- The column names of the model's persisted table; none when it does not exist yet. -#}
{% macro persisted_columns() %}
    {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {{ return((adapter.get_columns_in_relation(existing) | map(attribute='name') | list) if existing is not none else []) }}
{% endmacro %}

{#- Where a conversion builds the model's table before it replaces the persisted one. -#}
{% macro conversion_relation() %}
    {{ return(this.incorporate(path={'identifier': this.identifier ~ '__converted'})) }}
{% endmacro %}

{% macro replace_with_conversion() %}
            drop table {{ this }};
            alter table {{ conversion_relation() }} rename to {{ adapter.quote(this.identifier) }};
{%- endmacro %}
