-- Synthetic identity links of the run day's snapshot (benchmark source), one row per (network, account_id).
{{ stage_identity_links(raw_day('raw_synthetic', 'identity_links')) }}
