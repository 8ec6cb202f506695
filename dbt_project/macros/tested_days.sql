{#- The days the data tests check: test_start_date..run_date. A daily build tests the day it built
    (test_start_date defaults to run_date); a backfill builds its days one by one and then tests
    them all at once (`--vars '{run_date: <last>, test_start_date: <first>}'`). -#}
{% macro test_start_date() -%}
    {%- set value = var('test_start_date', none) -%}
    {%- if value is none -%}
        {{- return(run_date()) -}}
    {%- endif -%}
    {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', value | string) -%}
        {{ exceptions.raise_compiler_error("var test_start_date must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    {{- return("date '" ~ value ~ "'") -}}
{%- endmacro %}

{#- Test filters name the tested days with placeholders, not `{{ var('run_date') }}`: dbt renders
    a YAML config at parse time, so a var there freezes the day into the manifest, and a backfill,
    which parses once and builds many days, would test the first day over and over. The
    placeholders are replaced here, when the test compiles:
      __test_start_date__, __run_date__   date literals of the tested days
      __model_version__                   the var model_version, quoted -#}
{% macro resolve_tested_days(text) -%}
    {{- return(text
        | replace('__test_start_date__', test_start_date())
        | replace('__run_date__', run_date())
        | replace('__model_version__', "'" ~ var('model_version') ~ "'")) -}}
{%- endmacro %}

{#- dbt's own macro, overridden (as dbt documents for run-time `where` logic) to resolve the
    placeholders of a test's `where` config. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ resolve_tested_days(where) }}) dbt_subquery
        {%- endset -%}
        {{- return(filtered) -}}
    {%- else -%}
        {{- return(relation) -}}
    {%- endif -%}
{%- endmacro %}
