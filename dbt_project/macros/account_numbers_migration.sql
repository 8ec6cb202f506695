{#- Pre-hook (before_begin) of the models that carry account numbers for their ends
    (int_engagement_pairs_daily, int_edge_state). A warehouse built before the numbers
    (int_account_numbers) holds these tables with string ends only (actor_key, target_key), and
    their rows are the only copy of the state (the pair history feeds 7-day signals; the decayed
    graph is maintained from day to day, never from the raw history), so they are converted, not
    dropped: the accounts at their ends are numbered (after the ones int_account_numbers numbered
    for the run day, by the same rule), and the table is rewritten with the numbers, the keys kept
    (keep_keys) or replaced. Runs once: afterwards the table has the number columns and the hook
    renders nothing. A transaction of its own, committed before the model's: inside the model's
    transaction the uncommitted rewrite (177M edges at L, 80 s) left the model's own query out of
    memory. -#}
{% macro migrate_to_account_numbers(ends, keep_keys) %}
    {%- if execute -%}
        {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
        {%- set columns = (adapter.get_columns_in_relation(existing) | map(attribute='name') | list) if existing is not none else [] -%}
        {%- if columns and (ends[0] ~ '_key') in columns and (ends[0] ~ '_number') not in columns -%}
            {%- set numbers = ref('int_account_numbers') -%}
            {%- set converted = this.incorporate(path={'identifier': this.identifier ~ '__numbered'}) -%}
            {%- set converted_columns = [] -%}
            {%- for column in columns -%}
                {%- set end = column[:-4] if column.endswith('_key') and column[:-4] in ends else none -%}
                {%- if end is none -%}
                    {%- do converted_columns.append('old.' ~ column) -%}
                {%- elif not keep_keys -%}
                    {%- do converted_columns.append(end ~ '.account_number as ' ~ end ~ '_number') -%}
                {%- else -%}
                    {%- do converted_columns.append('old.' ~ column) -%}
                    {%- if end == ends[-1] -%}
                        {%- for numbered_end in ends -%}
                            {%- do converted_columns.append(numbered_end ~ '.account_number as ' ~ numbered_end ~ '_number') -%}
                        {%- endfor -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do log(this.identifier ~ ': adding account numbers to the rows built before them (one-off)', info=true) -%}
            {#- get_columns_in_relation opened dbt's transaction (its statements auto-begin): close
                it, so the rewrite below runs and commits in a transaction of its own -#}
            {%- do adapter.commit() -%}
            begin transaction;

            insert into {{ numbers }} (account_key, network, account_number, first_numbered_date)
            with ends as (
                {%- for end in ends %}
                select network, {{ end }}_key as account_key from {{ this }}
                {%- if not loop.last %} union{% endif %}
                {%- endfor %}
            )
            select
                ends.account_key,
                ends.network,
                (select coalesce(max(account_number), 0) from {{ numbers }}) + row_number() over (order by ends.account_key),
                {{ run_date() }}
            from ends
            anti join {{ numbers }} as numbered using (account_key);

            create or replace table {{ converted }} as
            select {{ converted_columns | join(', ') }}
            from {{ this }} as old
            {%- for end in ends %}
            join {{ numbers }} as {{ end }} on {{ end }}.account_key = old.{{ end }}_key
            {%- endfor %};

            drop table {{ this }};
            alter table {{ converted }} rename to {{ adapter.quote(this.identifier) }};
            commit;
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
