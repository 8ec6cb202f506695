{#- The raw relation of a staging model, for the run day. A source that was not extracted for the
    run day (a `--source higgs` run, the synthetic source outside a benchmark) has no partition for
    it, and DuckDB refuses a glob that matches no file; such a source then stages zero rows of the
    same columns. The raw manifests gate (expectations/raw_manifests.json) is what notices a network
    that should have been extracted and was not. With `tested_days`, the relation covers the days
    the data tests check (test_start_date..run_date; the caller filters on dt). -#}
{% macro raw_day(source_name, table_name, tested_days=false) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute -%}
        {%- set networks = {'raw_higgs': 'twitter', 'raw_stackexchange': 'se_*', 'raw_synthetic': 'syn_*'}[source_name] -%}
        {%- set pattern = env_var('INFLUENCE_RAW_DIR') ~ '/' ~ networks ~ '/' ~ table_name
            ~ '/dt=' ~ ('*' if tested_days else var('run_date')) ~ '/part-0.parquet' -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
        {%- if found == 0 -%}
            {{- return('(select ' ~ raw_columns(table_name) ~ ' where false) as ' ~ table_name ~ '_not_extracted') -}}
        {%- endif -%}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{#- The raw Parquet columns of each entity (extractors/schema.py), as typed NULLs. -#}
{% macro raw_columns(table_name) -%}
    {%- set columns = {
        'events': [('network', 'varchar'), ('event_id', 'varchar'), ('event_type', 'varchar'),
                   ('actor_account_id', 'varchar'), ('target_account_id', 'varchar'),
                   ('target_post_id', 'varchar'), ('post_id', 'varchar'),
                   ('occurred_at', 'timestamptz'), ('source_file', 'varchar'),
                   ('source_line', 'bigint')],
        'accounts': [('network', 'varchar'), ('account_id', 'varchar'), ('display_name', 'varchar'),
                     ('created_at', 'timestamptz'), ('reputation', 'bigint'),
                     ('followers_count', 'bigint'), ('snapshot_day', 'date')],
        'identity_links': [('network', 'varchar'), ('account_id', 'varchar'),
                           ('identity_namespace', 'varchar'), ('identity_key', 'varchar')],
    }[table_name] + [('dt', 'date')] -%}
    {%- for name, type in columns -%}
        null::{{ type }} as {{ name }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
