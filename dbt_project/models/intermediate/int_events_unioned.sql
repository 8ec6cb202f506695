{{ config(materialized='view') }}
-- All sources' events of the run day in one relation (the staging models share one schema).
select 'higgs' as source_name, * from {{ ref('stg_higgs__events') }}
union all by name
select 'stackexchange' as source_name, * from {{ ref('stg_stackexchange__events') }}
union all by name
select 'synthetic' as source_name, * from {{ ref('stg_synthetic__events') }}
