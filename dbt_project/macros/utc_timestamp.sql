{#- A TIMESTAMP WITH TIME ZONE as a naive timestamp in UTC, so comparisons with dates never depend
    on a session time zone. The same value as timezone('UTC', value) by arithmetic on the instant's
    microseconds instead of ICU's calendar: 10x cheaper (3M values on one thread: 0.65 s with ICU,
    0.06 s this way), paid on every event of the day (50M at L). -#}
{% macro utc_timestamp(value) -%}
    make_timestamp(epoch_us({{ value }}::timestamptz))
{%- endmacro %}
