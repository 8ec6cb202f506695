-- Property 2 (linking never lowers a score) on real data: a person's score is at least the
-- network score of each of their accounts.
select
    persons.person_id,
    persons.score,
    accounts.account_key,
    accounts.score as account_score
from {{ ref('fct_network_scores') }} as accounts
join {{ ref('dim_accounts') }} as dim using (account_key)
join {{ ref('fct_person_scores') }} as persons
    on persons.person_id = dim.person_id
   and persons.score_date = accounts.score_date
   and persons.model_version = accounts.model_version
where accounts.score_date between {{ test_start_date() }} and {{ run_date() }}
  and accounts.model_version = '{{ var("model_version") }}'
  and persons.score < accounts.score - 0.0001
