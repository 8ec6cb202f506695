-- Synthetic events of the run day (benchmark source), renamed and cast (one row per raw row).
{{ stage_events(raw_day('raw_synthetic', 'events')) }}
