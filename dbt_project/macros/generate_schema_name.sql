{#- Models live in the schema named in their config (staging / intermediate / marts), not in
    "<target schema>_<custom>": the publish step copies schema `marts` as is (docs/architecture.md). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
