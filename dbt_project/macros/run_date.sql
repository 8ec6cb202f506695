{#- The day being built, as a SQL date literal. Every daily model filters on it; a run for day D
    only reads raw partition dt=D and events with occurred_at < D + 1. -#}
{% macro run_date() -%}
    {%- set value = var('run_date') -%}
    {%- if value is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error("var run_date is required: dbt build --vars '{run_date: YYYY-MM-DD}'") }}
        {%- endif -%}
        {%- set value = '1970-01-01' -%}
    {%- endif -%}
    {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', value | string) -%}
        {{ exceptions.raise_compiler_error("var run_date must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    date '{{ value }}'
{%- endmacro %}
