"""Arrow schemas of the raw Parquet tables (the contract in docs/architecture.md)."""

from __future__ import annotations

import pyarrow as pa

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "post",
        "answer",
        "reshare",
        "reply",
        "comment",
        "mention",
        "like",
        "downvote",
        "favourite",
        "accept",
        "follow",
        "unfollow",
    }
)

ENTITIES: tuple[str, ...] = ("events", "accounts", "identity_links")

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

EVENTS = pa.schema(
    [
        pa.field("network", pa.string(), nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("actor_account_id", pa.string()),
        pa.field("target_account_id", pa.string()),
        pa.field("target_post_id", pa.string()),
        pa.field("post_id", pa.string()),
        pa.field("occurred_at", UTC_TIMESTAMP, nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
    ]
)

ACCOUNTS = pa.schema(
    [
        pa.field("network", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("display_name", pa.string()),
        pa.field("created_at", UTC_TIMESTAMP),
        pa.field("reputation", pa.int64()),
        pa.field("followers_count", pa.int64()),
        pa.field("snapshot_day", pa.date32(), nullable=False),
    ]
)

IDENTITY_LINKS = pa.schema(
    [
        pa.field("network", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("identity_namespace", pa.string(), nullable=False),
        pa.field("identity_key", pa.string(), nullable=False),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("network", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
        pa.field("raw_record", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "events": EVENTS,
    "accounts": ACCOUNTS,
    "identity_links": IDENTITY_LINKS,
}
