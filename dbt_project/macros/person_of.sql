{#- The person an account belongs to: the person_id of its identity link (`identities`, a relation
    aliasing int_account_identities, left-joined on account_key), else the account itself. The one
    place of the rule "an account without a link is its own person". -#}
{% macro person_of(account_key, identities) -%}
    coalesce({{ identities }}.person_id, {{ account_key }})
{%- endmacro %}
