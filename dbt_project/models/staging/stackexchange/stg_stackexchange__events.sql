-- Stack Exchange posts, comments and votes of the run day, renamed and cast (one row per raw row).
{{ stage_events(raw_day('raw_stackexchange', 'events')) }}
