-- The run day's graph has one version of each edge: a version left unsuperseded beside a newer one
-- (macros/edge_state.sql, link_edge_versions) would count the edge twice in PageRank.
select actor_number, target_number, count(*) as versions
from ({{ edge_state_on() }})
group by actor_number, target_number
having count(*) > 1
