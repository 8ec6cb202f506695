-- Stack Exchange posts, comments and votes of the run day, typed, one row per (network, event_id).
{{ stage_events(raw_day('raw_stackexchange', 'events')) }}
