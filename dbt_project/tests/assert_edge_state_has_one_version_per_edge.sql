-- The run day's graph has one version of each edge: a version left unsuperseded beside a newer one
-- (macros/edge_state.sql, link_edge_versions) would count the edge twice in PageRank.
-- Only the edges engaged on a tested day are looked at. An edge's versions change only on a day it
-- is engaged (its new version, and the link of the one before), so every version of another edge
-- that is valid today was valid, and passed this test, on the tested days after its last engagement.
-- On day 10 at M, checking the whole graph (26M edges) took 7.2-8.2 s, these edges 3.8-3.9 s.
select graph.actor_number, graph.target_number, count(*) as versions
from ({{ edge_state_on() }}) as graph
semi join (
    select actor_number, target_number
    from {{ ref('int_edge_state') }}
    where model_version = '{{ var("model_version") }}'
      and engaged_date between {{ test_start_date() }} and {{ run_date() }}
) as engaged_on_a_tested_day using (actor_number, target_number)
group by graph.actor_number, graph.target_number
having count(*) > 1
