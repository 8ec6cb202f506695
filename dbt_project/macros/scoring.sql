{#- The factors of the model, in the order docs/model.md lists them. -#}
{% macro score_factors() -%}
    {{ return(['audience', 'amplification', 'conversation', 'mentions', 'appreciation', 'content', 'network_influence']) }}
{%- endmacro %}

{#- One row: w_<factor> and s_<factor> (weight and saturation) of the model version being built. -#}
{% macro factor_weights_row() -%}
    select
    {%- for factor in score_factors() %}
        max(weight) filter (where factor = '{{ factor }}')       as w_{{ factor }},
        max(saturation) filter (where factor = '{{ factor }}')   as s_{{ factor }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ ref('int_factor_weights') }}
{%- endmacro %}

{#- Points of one factor: ln(1 + x / saturation). Log points fall by at most ln(2)/half_life a day
    when x only decays, which is what bounds the daily fall of a score (docs/model.md §5). -#}
{% macro factor_points(value, saturation) -%}
    ln(1.0 + ({{ value }}) / ({{ saturation }}))
{%- endmacro %}

{#- raw score = sum over factors of weight * points. `prefix` qualifies the factor columns and
    `weights` the relation holding w_/s_ columns. -#}
{% macro raw_score(prefix='', weights='weights') -%}
    (
    {%- for factor in score_factors() %}
        {{ weights }}.w_{{ factor }} * {{ factor_points(prefix ~ factor, weights ~ '.s_' ~ factor) }}{{ ' +' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}

{#- The fixed 1-100 scale: score = 1 + 99 * (1 - exp(-raw / curvature)). Concave, so gains get
    harder near the top; not refitted to the day's population. -#}
{% macro score_from_raw(raw, curvature) -%}
    (1.0 + 99.0 * (1.0 - exp(-({{ raw }}) / ({{ curvature }}))))
{%- endmacro %}

{#- Tier of a score (docs/model.md §6). -#}
{% macro score_tier(score) -%}
    case
        when {{ score }} >= 90 then 'exceptional'
        when {{ score }} >= 50 then 'elite'
        when {{ score }} >= 30 then 'reputable'
        when {{ score }} >= 10 then 'emerging'
        else 'floor'
    end
{%- endmacro %}
