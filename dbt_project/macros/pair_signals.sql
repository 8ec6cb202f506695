{#- The factor roles of an engagement between two accounts: the events that make an
    int_engagement_pairs_daily row and that the authenticity signals and the factors read. -#}
{% macro scored_engagement_roles() -%}
    ('amplification', 'conversation', 'mentions', 'appreciation', 'audience_only')
{%- endmacro %}

{#- The events of int_events_cleaned that make an int_engagement_pairs_daily row: a scored role
    between two known accounts. int_account_numbers numbers the ends of exactly these events, so
    every pair end has a number, and int_actor_quality counts an actor's actions among them. -#}
{% macro is_engagement_pair_event() -%}
    actor_key is not null
      and target_key is not null
      and factor_role in {{ scored_engagement_roles() }}
{%- endmacro %}

{#- The window of the pair signals: int_actor_quality's authenticity signals and
    int_account_daily_contributions' two-way exchanges look at int_engagement_pairs_daily over the
    pair_signal_days() days ending on the run day. It changes scores: a new value needs a new model
    version (docs/model.md §8). -#}
{% macro pair_signal_days() -%}
    7
{%- endmacro %}

{% macro pair_signal_window_start() -%}
    {{ run_date() }} - interval {{ pair_signal_days() | int - 1 }} day
{%- endmacro %}

{#- Post-hook of int_engagement_pairs_daily: keep the pairs that a rebuild can still read, delete
    the rest (at L, 20.6M pair rows a day that were kept forever although only the signal window
    is ever read).
    A day can be rebuilt only from the decayed graph of the built day before it, and
    int_edge_state keeps the graphs of the last edge_state_days_kept built days, so the oldest day
    that can be rebuilt comes right after the oldest kept graph, and its signal window reaches
    pair_signal_days() - 2 built days further back. Counting built days, not calendar days, keeps a
    window across a gap in the built days whole. Only days up to the run day count: a new model
    version built over past days, in order, still finds the pairs of the days before the one it is
    building (those are rebuilt from their events as it goes; the first days of such a backfill
    start with the pairs that are left, as its decayed state starts empty). -#}
{% macro prune_engagement_pairs() %}
    {%- set days_kept = var('edge_state_days_kept') | int + pair_signal_days() | int - 2 -%}
    delete from {{ this }}
    where activity_date < (
        select min(activity_date)
        from (
            select distinct activity_date
            from {{ this }}
            where activity_date <= {{ run_date() }}
            order by activity_date desc
            limit {{ days_kept }}
        )
    )
{% endmacro %}
