-- Stack Exchange AccountId links of the run day's snapshot, one row per (network, account_id).
{{ stage_identity_links(raw_day('raw_stackexchange', 'identity_links')) }}
