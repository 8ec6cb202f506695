-- Higgs Twitter interactions of the run day, typed, one row per event_id.
{{ stage_events(source('raw_higgs', 'events')) }}
