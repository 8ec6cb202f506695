-- Higgs Twitter interactions of the run day, typed, one row per event_id.
{{ stage_events(raw_day('raw_higgs', 'events')) }}
