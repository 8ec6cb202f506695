{#- The factor weights of every model version sum to 1 (this bounds the daily fall of a score). -#}
{% test weights_sum_to_one(model) %}
select model_version, sum(weight) as total_weight
from {{ model }}
group by model_version
having abs(sum(weight) - 1.0) > 1e-9
{% endtest %}
