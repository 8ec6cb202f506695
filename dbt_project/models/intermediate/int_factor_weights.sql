-- Factor weights and saturation constants of the model version being built.
select factor, weight, saturation
from {{ ref('model_factor_weights') }}
where model_version = '{{ var("model_version") }}'
