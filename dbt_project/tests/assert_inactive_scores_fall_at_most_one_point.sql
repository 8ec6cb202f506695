-- Property 5 on every tested day's real data: a person who received nothing on the run day (and was
-- scored the day before) does not rise, and falls by at most 1 point.
select
    today.person_id,
    yesterday.score as previous_score,
    today.score
from {{ ref('fct_person_scores') }} as today
join {{ ref('fct_person_scores') }} as yesterday
    on yesterday.person_id = today.person_id
   and yesterday.model_version = today.model_version
   and yesterday.score_date = today.score_date - 1
where today.score_date between {{ test_start_date() }} and {{ run_date() }}
  and today.model_version = '{{ var("model_version") }}'
  and today.last_engaged_date < today.score_date
  and (today.score > yesterday.score + 0.0001 or today.score < yesterday.score - 1.0)
