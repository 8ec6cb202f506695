{#- Pre-hook of the marts: the NOT NULL constraints of an incremental model's contract on a table
    created before the contract declared them (until then not_null data tests checked the tested
    days after each build; DuckDB now refuses the null on every write). dbt writes a contract's
    constraints only when it creates a table, and an incremental table is never recreated, so an
    older warehouse gets them here, once: ALTER TABLE ... SET NOT NULL checks the rows already
    there and fails on a null ("NOT NULL constraint failed: <table>.<column>"). Afterwards the
    query finds nothing to add and the hook renders nothing. Table models are recreated with their
    constraints on every build. -#}
{% macro add_contract_not_null_constraints() %}
    {%- if execute and config.get('materialized') == 'incremental' -%}
        {%- set declared = [] -%}
        {%- for column in model.get('columns', {}).values() -%}
            {%- if column.get('constraints', []) | selectattr('type', 'equalto', 'not_null') | list -%}
                {%- do declared.append(column['name']) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if declared -%}
            {%- set missing = run_query(
                "select column_name from information_schema.columns"
                ~ " where table_catalog = '" ~ this.database ~ "' and table_schema = '" ~ this.schema ~ "'"
                ~ " and table_name = '" ~ this.identifier ~ "' and is_nullable = 'YES'"
                ~ " and column_name in ('" ~ declared | join("', '") ~ "') order by column_name") -%}
            {%- for row in missing.rows %}
                {%- do log(this ~ ": adding the contract's NOT NULL to " ~ row[0] ~ " (one-off)", info=true) %}
    alter table {{ this }} alter column {{ adapter.quote(row[0]) }} set not null;
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
