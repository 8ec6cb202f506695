{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='account_key') }}
-- account_key -> person_id for every account with an identity link (Stack Exchange AccountId links
-- one person across sites). Accounts without a link are their own person (macros/person_of.sql).
select
    network || ':' || account_id                         as account_key,
    network,
    account_id,
    identity_namespace,
    identity_key,
    identity_namespace || ':' || identity_key            as person_id,
    {{ run_date() }}                                     as linked_as_of
from (
    select * from {{ ref('stg_stackexchange__identity_links') }}
    union all by name
    select * from {{ ref('stg_synthetic__identity_links') }}
) as identity_links
where account_id <> '-1'
