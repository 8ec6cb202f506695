{{ config(materialized='view') }}
-- The run day's events that are scored: deduplicated, inside the day, no self-interactions.
select * exclude (drop_reason)
from {{ ref('int_events_classified') }}
where drop_reason is null
