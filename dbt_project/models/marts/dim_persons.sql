-- One row per person: an identity-linked group of accounts (Stack Exchange AccountId) or a single
-- unlinked account.
select
    person_id::varchar                                                    as person_id,
    count(*)::integer                                                     as accounts,
    string_agg(distinct network, ',' order by network)::varchar          as networks,
    min(display_name)::varchar                                            as display_name,
    min(first_active_date)::date                                          as first_active_date,
    max(last_active_date)::date                                           as last_active_date
from {{ ref('dim_accounts') }}
group by person_id
