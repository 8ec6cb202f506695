-- The scoring constants of the model version being built (var model_version), one row.
select *
from {{ ref('model_versions') }}
where model_version = '{{ var("model_version") }}'
