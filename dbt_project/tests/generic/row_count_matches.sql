{#- Fails when `model` (filtered by `where`) and `compare_model` (filtered by `compare_where`)
    have different row counts: e.g. one score row per account with factors. `compare_where` may use the
    placeholders of macros/tested_days.sql. -#}
{% test row_count_matches(model, compare_model, compare_where='true') %}
with counts as (
    select
        (select count(*) from {{ model }})                                        as model_rows,
        (select count(*) from {{ compare_model }} where {{ resolve_tested_days(compare_where) }})      as compare_rows
)
select * from counts where model_rows <> compare_rows
{% endtest %}
