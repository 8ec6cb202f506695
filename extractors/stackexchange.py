"""Stack Exchange data dumps → one network ``se_<site>`` per directory under
``<samples_dir>/stackexchange/<site>/`` holding ``Users``, ``Posts``, ``Comments`` and ``Votes``
``.xml.gz`` (the official dump XML, gzip-compressed).

Events (``source_line`` is the ``<row>`` ordinal in its file):

| source row | event_type | actor | target_account_id | target_post_id | post_id | event_id |
|---|---|---|---|---|---|---|
| Posts PostTypeId 1 (question) | post | OwnerUserId | – | – | Id | post:Id |
| Posts PostTypeId 2 (answer) | answer | OwnerUserId | question owner | ParentId | Id | answer:Id |
| Comments | comment | UserId | owner of PostId | PostId | c + Id | comment:Id |
| Votes VoteTypeId 2 | like | UserId (normally absent: anonymous) | owner of PostId | PostId | – | vote:Id |
| Votes VoteTypeId 3 | downvote | as like | | | | vote:Id |
| Votes VoteTypeId 5 | favourite | UserId | owner of PostId | PostId | – | vote:Id |
| Votes VoteTypeId 1 | accept | owner of the answer's question | answer owner | answer Id | – | vote:Id |

Comment ids are their own id space (comment 7 is not post 7), so a comment's ``post_id`` is
prefixed with ``c``. Votes carry a date only: ``occurred_at`` is midnight UTC.

Skipped on purpose (counted per reason in ``skipped_by_reason``, not quarantined):
``post_type_not_social`` (tag wikis, nominations, ...), ``vote_type_not_social`` (close, delete,
bounty, spam flag, edit approval, ...), ``actor_unknown`` (a post/comment/favourite by a deleted
user, or an accept whose question owner is unknown: the contract allows a null actor only for
anonymous votes), ``target_unknown`` (an anonymous vote on a post that is not in the dump or whose
owner was deleted: it is attributable to no account at all).

The Community user (Id -1) is a real row of ``Users`` and is written to ``accounts`` and as an
actor like any account (the warehouse excludes it from persons); it gets no identity link
(``community_user_not_a_person``), nor does a user without ``AccountId`` (``no_account_id``).

``accounts`` for day D is the snapshot of users created by the end of D (display name and
reputation are as of the dump, the only values the dump has). Their rejected rows are a
snapshot too: the accounts quarantine of D holds the rejected user rows attributed to D or
earlier, so ``rows_read`` = users created by D + rejected user rows up to D.

Rejected rows (quarantine reasons): ``missing_attribute``, ``non_numeric_value``,
``bad_timestamp``, ``timestamp_out_of_range``, ``unknown_post_type``, ``unknown_vote_type``,
``unexpected_element``; a user row with a malformed ``AccountId`` stays an account and is
quarantined under identity_links (``non_numeric_value``). Attributes the extractor does not use
(including new or renamed ones) are ignored; a *required* attribute renamed in every row means no
row is usable, which is a ``SourceError``.

Whole-file problems raise ``SourceError``: a missing file, truncated gzip, XML that is not well
formed (line and column given), a wrong root element, or a Users/Posts file without rows (a site
always has both). Comments and Votes may legitimately hold no rows.

Performance: each site's four files are parsed once per content (sha256) with ``iterparse``
(elements cleared as they are consumed: memory does not grow with the dump) into typed Parquet;
DuckDB then resolves post owners with joins over those files (it spills to disk, so no
unbounded in-memory post index) and writes all events sorted by day. Each ``extract_day`` reads
its day from there (see ``extractors.daycache``).
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import re
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extractors.daycache import (
    CACHE_FORMAT_VERSION,
    CACHED_EVENTS,
    REJECTS,
    BatchWriter,
    EntityDay,
    RejectLog,
    count_reasons,
    default_cache_dir,
    events_day,
    quarantine_table,
    read_day,
    write_network_day,
)
from extractors.errors import SourceError
from extractors.partition import PartitionManifest, sha256_of, write_atomic_directory
from extractors.schema import ACCOUNTS, IDENTITY_LINKS

SOURCE_NAMES = ("Users", "Posts", "Comments", "Votes")
IDENTITY_NAMESPACE = "stackexchange"
COMMUNITY_USER_ID = -1
# The network launched in 2008; a date before that or in the future is corrupt, not history.
OLDEST_PLAUSIBLE = datetime.datetime(2008, 1, 1, tzinfo=datetime.UTC)
# Documented dump codes. Anything else is a changed format, quarantined as unknown.
KNOWN_POST_TYPES = frozenset(range(1, 18))
KNOWN_VOTE_TYPES = frozenset(range(1, 17))
_INTEGER = re.compile(r"-?[0-9]+\Z")

_TIMESTAMP = pa.timestamp("us", tz="UTC")
STAGED: dict[str, pa.Schema] = {
    "Posts": pa.schema(
        [
            ("post_id", pa.int64()),
            ("post_type", pa.int64()),
            ("parent_id", pa.int64()),
            ("owner_id", pa.int64()),
            ("created_at", _TIMESTAMP),
            ("day", pa.date32()),
            ("source_line", pa.int64()),
        ]
    ),
    "Comments": pa.schema(
        [
            ("comment_id", pa.int64()),
            ("post_id", pa.int64()),
            ("user_id", pa.int64()),
            ("created_at", _TIMESTAMP),
            ("day", pa.date32()),
            ("source_line", pa.int64()),
        ]
    ),
    "Votes": pa.schema(
        [
            ("vote_id", pa.int64()),
            ("post_id", pa.int64()),
            ("vote_type", pa.int64()),
            ("user_id", pa.int64()),
            ("created_at", _TIMESTAMP),
            ("day", pa.date32()),
            ("source_line", pa.int64()),
        ]
    ),
    "Users": pa.schema(
        [
            ("user_id", pa.int64()),
            ("display_name", pa.string()),
            ("created_at", _TIMESTAMP),
            ("reputation", pa.int64()),
            ("se_account_id", pa.int64()),
            ("account_id_invalid", pa.bool_()),
            ("day", pa.date32()),
            ("source_line", pa.int64()),
        ]
    ),
}
# (root element, required attributes) per file.
LAYOUT: dict[str, tuple[str, tuple[str, ...]]] = {
    "Posts": ("posts", ("Id", "PostTypeId", "CreationDate")),
    "Comments": ("comments", ("Id", "PostId", "CreationDate")),
    "Votes": ("votes", ("Id", "PostId", "VoteTypeId", "CreationDate")),
    "Users": ("users", ("Id", "CreationDate")),
}


@dataclass(frozen=True)
class Site:
    name: str
    network: str
    files: dict[str, Path]  # "Posts" -> path
    sha256: dict[str, str]  # file name -> sha256

    def file_names(self, *kinds: str) -> list[str]:
        return [self.files[kind].name for kind in kinds]

    def shas(self, *kinds: str) -> dict[str, str]:
        return {self.files[kind].name: self.sha256[self.files[kind].name] for kind in kinds}


def discover_sites(samples_dir: Path) -> list[Site]:
    """Every site directory under ``<samples_dir>/stackexchange``; each needs all four files."""
    root = samples_dir / "stackexchange"
    if not root.is_dir():
        raise SourceError(root, "missing directory (expected one sub-directory per Stack Exchange site)")
    sites = []
    for directory in sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")):
        files = {kind: directory / f"{kind}.xml.gz" for kind in SOURCE_NAMES}
        for path in files.values():
            if not path.is_file():
                raise SourceError(path, "missing file (a site needs Users, Posts, Comments and Votes .xml.gz)")
        shas = {path.name: sha256_of(path) for path in files.values()}
        sites.append(Site(directory.name, f"se_{directory.name}", files, shas))
    if not sites:
        raise SourceError(root, "no site directories")
    return sites


def extract_day(
    day: datetime.date,
    *,
    samples_dir: Path,
    raw_dir: Path,
    quarantine_dir: Path,
    cache_dir: Path | None = None,
) -> list[PartitionManifest]:
    """Write events, accounts and identity_links of every ``se_<site>`` network for ``day``.
    Every site is parsed (or found in the cache) before anything is written, so a bad dump of one
    site fails the call without leaving a half-written day behind."""
    cache_root = (cache_dir or default_cache_dir(raw_dir)) / "stackexchange"
    prepared = [(site, _site_cache(site, cache_root)) for site in discover_sites(samples_dir)]
    manifests: list[PartitionManifest] = []
    for site, key_dir in prepared:
        manifests += write_network_day(raw_dir, quarantine_dir, day, _site_day(site, key_dir, day))
    return manifests


def _site_cache(site: Site, cache_root: Path) -> Path:
    combined = hashlib.sha256("|".join(f"{name}={sha}" for name, sha in sorted(site.sha256.items())).encode())
    key_dir = cache_root / site.name / f"{combined.hexdigest()}-v{CACHE_FORMAT_VERSION}"
    if not (key_dir / "events.parquet").exists():
        write_atomic_directory(key_dir, lambda temp: _build_site_cache(site, temp))
    return key_dir


def _site_day(site: Site, key_dir: Path, day: datetime.date) -> dict[str, EntityDay]:
    events = events_day(
        cache_key_dir=key_dir,
        network=site.network,
        day=day,
        source_files=site.file_names("Posts", "Comments", "Votes"),
        source_sha256=site.shas("Posts", "Comments", "Votes"),
    )
    users = read_day(key_dir / "Users.parquet", day, STAGED["Users"], up_to=True)
    users = users.sort_by("user_id")
    user_files, user_shas = site.file_names("Users"), site.shas("Users")

    account_rejects = read_day(key_dir / "rejects.parquet", day, REJECTS, "accounts", up_to=True)
    accounts = _accounts_table(site.network, users, day)
    accounts_day = EntityDay(
        accounts,
        quarantine_table(site.network, account_rejects),
        PartitionManifest(
            network=site.network,
            entity="accounts",
            day=day,
            source_files=user_files,
            source_sha256=user_shas,
            rows_read=users.num_rows + account_rejects.num_rows,
            rows_written=accounts.num_rows,
            rows_rejected=account_rejects.num_rows,
            rejected_by_reason=count_reasons(account_rejects["reason"]),
        ),
    )

    link_rejects = read_day(key_dir / "rejects.parquet", day, REJECTS, "identity_links", up_to=True)
    is_community = pc.equal(users["user_id"], COMMUNITY_USER_ID)
    has_account = pc.is_valid(users["se_account_id"])
    invalid = users["account_id_invalid"]
    linked = users.filter(pc.and_(has_account, pc.invert(is_community)))
    skipped: dict[str, int] = {}
    community = pc.sum(is_community.cast(pa.int64())).as_py() or 0
    if community:
        skipped["community_user_not_a_person"] = community
    no_account = (
        pc.sum(
            pc.and_(pc.invert(has_account), pc.and_(pc.invert(invalid), pc.invert(is_community))).cast(pa.int64())
        ).as_py()
        or 0
    )
    if no_account:
        skipped["no_account_id"] = no_account
    links = pa.table(
        {
            "network": pa.array([site.network] * linked.num_rows, pa.string()),
            "account_id": pc.cast(linked["user_id"], pa.string()),
            "identity_namespace": pa.array([IDENTITY_NAMESPACE] * linked.num_rows, pa.string()),
            "identity_key": pc.cast(linked["se_account_id"], pa.string()),
        },
        schema=IDENTITY_LINKS,
    )
    links_day = EntityDay(
        links,
        quarantine_table(site.network, link_rejects),
        PartitionManifest(
            network=site.network,
            entity="identity_links",
            day=day,
            source_files=user_files,
            source_sha256=user_shas,
            rows_read=accounts.num_rows,
            rows_written=links.num_rows,
            rows_rejected=link_rejects.num_rows,
            rejected_by_reason=count_reasons(link_rejects["reason"]),
            rows_skipped=sum(skipped.values()),
            skipped_by_reason=dict(sorted(skipped.items())),
        ),
    )
    return {"events": events, "accounts": accounts_day, "identity_links": links_day}


def _accounts_table(network: str, users: pa.Table, day: datetime.date) -> pa.Table:
    count = users.num_rows
    return pa.table(
        {
            "network": pa.array([network] * count, pa.string()),
            "account_id": pc.cast(users["user_id"], pa.string()),
            "display_name": users["display_name"],
            "created_at": users["created_at"],
            "reputation": users["reputation"],
            "followers_count": pa.nulls(count, pa.int64()),
            "snapshot_day": pa.array([day] * count, pa.date32()),
        },
        schema=ACCOUNTS,
    )




# --- parsing the dump once -------------------------------------------------------------------


def _build_site_cache(site: Site, cache_dir: Path) -> None:
    newest_plausible = datetime.datetime.fromtimestamp(time.time(), datetime.UTC)
    rejects_writer = BatchWriter(cache_dir / "rejects.parquet", REJECTS)
    try:
        for kind in ("Users", "Posts", "Comments", "Votes"):
            _stage_file(kind, site.files[kind], cache_dir / f"{kind}.parquet", rejects_writer, newest_plausible)
    finally:
        rejects_writer.close()
    _build_events(site, cache_dir)


def _stage_file(kind: str, path: Path, target: Path, rejects_writer: BatchWriter, newest: datetime.datetime) -> None:
    """One XML file → typed Parquet rows (+ rejected rows), streaming."""
    writer = BatchWriter(target, STAGED[kind])
    rejects = RejectLog(rejects_writer, path)
    entity = "accounts" if kind == "Users" else "events"
    required = LAYOUT[kind][1]
    valid = 0
    try:
        for ordinal, element in _rows(path, LAYOUT[kind][0]):
            if element.tag != "row":
                rejects.reject(
                    entity,
                    ordinal,
                    _serialize(element),
                    "unexpected_element",
                    f"<{element.tag}> where <row> was expected",
                )
                continue
            attributes = element.attrib
            try:
                row = _parse_row(kind, attributes, required, newest)
            except _RowProblem as problem:
                rejects.reject(entity, ordinal, _serialize(element), problem.reason, problem.detail, problem.day)
                continue
            row["source_line"] = ordinal
            rejects.valid_row(row["day"])
            if kind == "Users" and row["account_id_invalid"]:
                rejects.reject(
                    "identity_links",
                    ordinal,
                    _serialize(element),
                    "non_numeric_value",
                    f"AccountId {attributes.get('AccountId')!r} is not an integer",
                    row["day"],
                )
            writer.append(row)
            valid += 1
        rejects.finish(valid)
        if valid == 0 and kind in ("Users", "Posts"):
            raise SourceError(path, f"no <row> elements: a site's {kind} file is never empty")
    finally:
        writer.close()


def _rows(path: Path, root_tag: str) -> Iterator[tuple[int, ET.Element]]:
    """Yield (ordinal, element) for each child of the root, clearing consumed elements so memory
    stays flat. Document-level failures become one-line SourceErrors."""
    if path.stat().st_size == 0:
        raise SourceError(path, "empty file (0 bytes)")
    ordinal = 0
    try:
        with gzip.open(path, "rb") as handle:
            depth = 0
            root: ET.Element | None = None
            for event, element in ET.iterparse(handle, events=("start", "end")):
                if event == "start":
                    depth += 1
                    if root is None:
                        root = element
                        if element.tag != root_tag:
                            raise SourceError(path, f"root element <{element.tag}>, expected <{root_tag}>")
                    continue
                depth -= 1
                if depth == 1:
                    ordinal += 1
                    yield ordinal, element
                    assert root is not None
                    root.clear()  # drops the consumed row (and anything before it)
    except ET.ParseError as error:
        line, column = error.position
        raise SourceError(
            path, f"not well-formed XML at line {line}, column {column} (after row {ordinal}): {error.msg}"
        ) from error
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise SourceError(path, f"unreadable gzip after row {ordinal} (truncated or corrupt): {error}") from error


class _RowProblem(Exception):
    def __init__(self, reason: str, detail: str, day: datetime.date | None = None) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.day = reason, detail, day


def _serialize(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode").strip()


def _integer(attributes: dict[str, str], name: str, *, required: bool) -> int | None:
    value = attributes.get(name)
    if value is None:
        if required:
            raise _RowProblem("missing_attribute", f"required attribute {name} is missing")
        return None
    if not _INTEGER.match(value):
        raise _RowProblem("non_numeric_value", f"{name} {value!r} is not an integer")
    return int(value)


def _timestamp(attributes: dict[str, str], newest: datetime.datetime) -> datetime.datetime:
    value = attributes.get("CreationDate")
    if value is None:
        raise _RowProblem("missing_attribute", "required attribute CreationDate is missing")
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise _RowProblem("bad_timestamp", f"CreationDate {value!r} is not an ISO date-time") from None
    # Dump times are UTC without an offset.
    parsed = parsed.replace(tzinfo=datetime.UTC) if parsed.tzinfo is None else parsed.astimezone(datetime.UTC)
    if not OLDEST_PLAUSIBLE <= parsed <= newest:
        raise _RowProblem("timestamp_out_of_range", f"CreationDate {value!r} is before 2008 or in the future")
    return parsed


def _parse_row(
    kind: str, attributes: dict[str, str], required: tuple[str, ...], newest: datetime.datetime
) -> dict[str, Any]:
    for name in required:
        if name not in attributes:
            raise _RowProblem("missing_attribute", f"required attribute {name} is missing")
    created = _timestamp(attributes, newest)
    day = created.date()
    try:
        if kind == "Posts":
            post_type = _integer(attributes, "PostTypeId", required=True)
            if post_type not in KNOWN_POST_TYPES:
                raise _RowProblem("unknown_post_type", f"PostTypeId {post_type} is not a documented post type")
            return {
                "post_id": _integer(attributes, "Id", required=True),
                "post_type": post_type,
                # An answer without its question cannot be attributed: ParentId is required there.
                "parent_id": _integer(attributes, "ParentId", required=post_type == 2),
                "owner_id": _integer(attributes, "OwnerUserId", required=False),
                "created_at": created,
                "day": day,
            }
        if kind == "Comments":
            return {
                "comment_id": _integer(attributes, "Id", required=True),
                "post_id": _integer(attributes, "PostId", required=True),
                "user_id": _integer(attributes, "UserId", required=False),
                "created_at": created,
                "day": day,
            }
        if kind == "Votes":
            vote_type = _integer(attributes, "VoteTypeId", required=True)
            if vote_type not in KNOWN_VOTE_TYPES:
                raise _RowProblem("unknown_vote_type", f"VoteTypeId {vote_type} is not a documented vote type")
            return {
                "vote_id": _integer(attributes, "Id", required=True),
                "post_id": _integer(attributes, "PostId", required=True),
                "vote_type": vote_type,
                "user_id": _integer(attributes, "UserId", required=False),
                "created_at": created,
                "day": day,
            }
        # Users
        try:
            se_account_id, account_id_invalid = _integer(attributes, "AccountId", required=False), False
        except _RowProblem:
            se_account_id, account_id_invalid = None, True
        return {
            "user_id": _integer(attributes, "Id", required=True),
            "display_name": attributes.get("DisplayName"),
            "created_at": created,
            "reputation": _integer(attributes, "Reputation", required=False),
            "se_account_id": se_account_id,
            "account_id_invalid": account_id_invalid,
            "day": day,
        }
    except _RowProblem as problem:
        # The row's date is known: quarantine it on its own day rather than a neighbour's.
        raise _RowProblem(problem.reason, problem.detail, day) from None


_EVENTS_SQL = """
WITH posts AS (SELECT * FROM read_parquet($posts)),
comments AS (SELECT * FROM read_parquet($comments)),
votes AS (SELECT * FROM read_parquet($votes)),
-- Owner lookup: one row per post id (the first in the file) so a duplicated post row cannot
-- multiply the comments and votes joined to it.
post_index AS (
    SELECT post_id, arg_min(owner_id, source_line) AS owner_id, arg_min(parent_id, source_line) AS parent_id
    FROM posts GROUP BY post_id
),
post_events AS (
    SELECT
        CASE p.post_type WHEN 1 THEN 'post:' WHEN 2 THEN 'answer:' ELSE 'posttype' || p.post_type || ':' END || p.post_id AS event_id,
        CASE p.post_type WHEN 1 THEN 'post' WHEN 2 THEN 'answer' END AS event_type,
        p.owner_id::VARCHAR AS actor_account_id,
        CASE WHEN p.post_type = 2 THEN q.owner_id::VARCHAR END AS target_account_id,
        CASE WHEN p.post_type = 2 THEN p.parent_id::VARCHAR END AS target_post_id,
        p.post_id::VARCHAR AS post_id,
        p.created_at AS occurred_at,
        $posts_name AS source_file,
        p.source_line,
        p.day,
        CASE
            WHEN p.post_type NOT IN (1, 2) THEN 'post_type_not_social'
            WHEN p.owner_id IS NULL THEN 'actor_unknown'
        END AS skip_reason
    FROM posts p LEFT JOIN post_index q ON p.post_type = 2 AND q.post_id = p.parent_id
),
comment_events AS (
    SELECT
        'comment:' || c.comment_id AS event_id,
        'comment' AS event_type,
        c.user_id::VARCHAR,
        p.owner_id::VARCHAR,
        c.post_id::VARCHAR,
        'c' || c.comment_id,
        c.created_at,
        $comments_name,
        c.source_line,
        c.day,
        CASE WHEN c.user_id IS NULL THEN 'actor_unknown' END
    FROM comments c LEFT JOIN post_index p ON p.post_id = c.post_id
),
vote_events AS (
    SELECT
        'vote:' || v.vote_id AS event_id,
        CASE v.vote_type WHEN 2 THEN 'like' WHEN 3 THEN 'downvote' WHEN 5 THEN 'favourite' WHEN 1 THEN 'accept' END,
        CASE WHEN v.vote_type = 1 THEN q.owner_id::VARCHAR ELSE v.user_id::VARCHAR END,
        p.owner_id::VARCHAR,
        v.post_id::VARCHAR,
        NULL::VARCHAR,
        -- The dump gives votes a date only.
        v.day::TIMESTAMP AT TIME ZONE 'UTC',
        $votes_name,
        v.source_line,
        v.day,
        CASE
            WHEN v.vote_type NOT IN (1, 2, 3, 5) THEN 'vote_type_not_social'
            WHEN v.vote_type IN (2, 3) AND v.user_id IS NULL AND p.owner_id IS NULL THEN 'target_unknown'
            WHEN v.vote_type = 5 AND v.user_id IS NULL THEN 'actor_unknown'
            WHEN v.vote_type = 1 AND q.owner_id IS NULL THEN 'actor_unknown'
        END
    FROM votes v
    LEFT JOIN post_index p ON p.post_id = v.post_id
    LEFT JOIN post_index q ON v.vote_type = 1 AND q.post_id = p.parent_id
)
SELECT $network AS network, * FROM (
    SELECT * FROM post_events
    UNION ALL SELECT * FROM comment_events
    UNION ALL SELECT * FROM vote_events
)
ORDER BY day, occurred_at, source_file, source_line
"""


def _build_events(site: Site, cache_dir: Path) -> None:
    """Resolve post owners with DuckDB joins over the staged files (bounded memory, spills to
    the cache's temp dir) and write every day's events, sorted by day."""
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET memory_limit = '2GB'")
        connection.execute(f"SET temp_directory = '{cache_dir / 'duckdb_tmp'}'")
        relation = connection.execute(
            _EVENTS_SQL,
            {
                "posts": str(cache_dir / "Posts.parquet"),
                "comments": str(cache_dir / "Comments.parquet"),
                "votes": str(cache_dir / "Votes.parquet"),
                "posts_name": site.files["Posts"].name,
                "comments_name": site.files["Comments"].name,
                "votes_name": site.files["Votes"].name,
                "network": site.network,
            },
        )
        writer = pq.ParquetWriter(cache_dir / "events.parquet", CACHED_EVENTS, compression="zstd")
        try:
            reader = relation.to_arrow_reader(32_768)
            for batch in reader:
                writer.write_table(pa.Table.from_batches([batch]).cast(CACHED_EVENTS))
        finally:
            writer.close()
    finally:
        connection.close()
