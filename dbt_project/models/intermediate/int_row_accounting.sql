{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_date') }}
-- Per network and day: raw rows read = rows accepted + rows dropped (by reason). The singular test
-- tests/assert_row_accounting_matches_raw.sql reconciles rows_read with the raw partition.
select
    {{ run_date() }}                                                             as activity_date,
    network,
    sum(event_id_occurrences)::bigint                                            as rows_read,
    sum(event_id_occurrences - 1)::bigint                                        as rows_dropped_duplicate_event_id,
    count(*) filter (where drop_reason = 'outside_run_day')::bigint              as rows_dropped_outside_run_day,
    count(*) filter (where drop_reason = 'unknown_event_type')::bigint           as rows_dropped_unknown_event_type,
    count(*) filter (where drop_reason = 'community_account')::bigint            as rows_dropped_community_account,
    count(*) filter (where drop_reason = 'self_interaction')::bigint             as rows_dropped_self_interaction,
    count(*) filter (where drop_reason = 'missing_target')::bigint               as rows_dropped_missing_target,
    count(*) filter (where drop_reason is null)::bigint                          as rows_accepted
from {{ ref('int_events_classified') }}
group by network
