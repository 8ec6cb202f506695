-- Synthetic events of the run day (benchmark source), typed, one row per event_id.
{{ stage_events(raw_day('raw_synthetic', 'events')) }}
