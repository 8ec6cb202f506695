{#- The factor roles of an event that engages its target (seed event_type_roles): the events that
    make engagement pairs, actions of an actor and contributions to a target. Not content_creation
    (an own post) or not_scored (downvote, unfollow). -#}
{% macro engagement_roles() -%}
    ('amplification', 'conversation', 'mentions', 'appreciation', 'audience_only')
{%- endmacro %}
