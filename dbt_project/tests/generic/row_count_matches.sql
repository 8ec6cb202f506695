{#- Fails when `model` (filtered by `where`) and `compare_model` (filtered by `compare_where`)
    have different row counts: e.g. one score row per account with factors. With `group_by` (a
    column both relations have, e.g. the day), the counts must match for every value of it, so
    over several tested days one day's surplus cannot hide another day's shortfall.
    `compare_where` may use the placeholders of macros/tested_days.sql. -#}
{% test row_count_matches(model, compare_model, compare_where='true', group_by=none) %}
{%- if group_by %}
with model_counts as (
    select {{ group_by }} as grouped_by, count(*) as model_rows
    from {{ model }}
    group by 1
),

compare_counts as (
    select {{ group_by }} as grouped_by, count(*) as compare_rows
    from {{ compare_model }}
    where {{ resolve_tested_days(compare_where) }}
    group by 1
)

select grouped_by, model_rows, compare_rows
from model_counts
full join compare_counts using (grouped_by)
where model_rows is distinct from compare_rows
{%- else %}
with counts as (
    select
        (select count(*) from {{ model }})                                                      as model_rows,
        (select count(*) from {{ compare_model }} where {{ resolve_tested_days(compare_where) }}) as compare_rows
)
select * from counts where model_rows <> compare_rows
{%- endif %}
{% endtest %}
