-- Higgs Twitter interactions of the run day, renamed and cast (one row per raw row).
{{ stage_events(raw_day('raw_higgs', 'events')) }}
