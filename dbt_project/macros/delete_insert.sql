{#- dbt-duckdb's delete+insert joins target and new rows on a composite unique_key
    (`delete ... using new_rows where keys match`). Our keys are (day, model_version), shared by
    every row of a day, so that join is rows x rows: rebuilding a day of 300k rows never finishes.
    Delete by the distinct key tuples instead (what dbt-core's default does). -#}
{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}
    {%- if unique_key -%}
        {%- set key_columns = [unique_key] if unique_key is string else unique_key -%}
        {%- set key_csv = key_columns | join(', ') %}
    delete from {{ target }}
    where ({{ key_csv }}) in (select distinct {{ key_csv }} from {{ source }})
        {%- for predicate in incremental_predicates or [] %}
      and {{ predicate }}
        {%- endfor %};
    {%- endif %}

    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )
{%- endmacro %}
