"""Stack Exchange extractor on real rows of the committed dumps."""

from __future__ import annotations

import datetime
import gzip
import shutil
from collections import Counter
from pathlib import Path

import pytest

from extractors import stackexchange
from extractors.errors import SourceError

from conftest import BAD_INPUTS, REAL_SAMPLES, REAL_SE, SE_FIRST_DAY, Dirs, xml_rows

QC = "se_quantumcomputing"
QC_HISTORY = [datetime.date(2018, 3, 12) + datetime.timedelta(days=offset) for offset in range(175)]  # ..2018-09-02


def reference_events(site_dir: Path) -> tuple[dict[str, tuple], Counter]:
    """The mapping table of extractors/stackexchange.py written out plainly over whole
    (small) files: event_id -> (type, actor, target account, target post, post id), and the
    skipped rows by reason. Everything here is one day, so no date handling."""
    posts = {row["Id"]: row for row in xml_rows(site_dir / "Posts.xml.gz")}
    owner = lambda post_id: posts.get(post_id, {}).get("OwnerUserId")  # noqa: E731
    events: dict[str, tuple] = {}
    skipped: Counter = Counter()
    for row in posts.values():
        if row["PostTypeId"] not in ("1", "2"):
            skipped["post_type_not_social"] += 1
        elif "OwnerUserId" not in row:
            skipped["actor_unknown"] += 1
        elif row["PostTypeId"] == "1":
            events[f"post:{row['Id']}"] = ("post", row["OwnerUserId"], None, None, row["Id"])
        else:
            events[f"answer:{row['Id']}"] = (
                "answer",
                row["OwnerUserId"],
                owner(row["ParentId"]),
                row["ParentId"],
                row["Id"],
            )
    for row in xml_rows(site_dir / "Comments.xml.gz"):
        if "UserId" not in row:
            skipped["actor_unknown"] += 1
        else:
            events[f"comment:{row['Id']}"] = (
                "comment",
                row["UserId"],
                owner(row["PostId"]),
                row["PostId"],
                f"c{row['Id']}",
            )
    for row in xml_rows(site_dir / "Votes.xml.gz"):
        kind = {"1": "accept", "2": "like", "3": "downvote", "5": "favourite"}.get(row["VoteTypeId"])
        if kind is None:
            skipped["vote_type_not_social"] += 1
            continue
        target = owner(row["PostId"])
        actor = row.get("UserId")
        if kind == "accept":
            actor = owner(posts.get(row["PostId"], {}).get("ParentId"))
        if kind in ("like", "downvote") and actor is None and target is None:
            skipped["target_unknown"] += 1
        elif kind in ("favourite", "accept") and actor is None:
            skipped["actor_unknown"] += 1
        else:
            events[f"vote:{row['Id']}"] = (kind, actor, target, row["PostId"], None)
    return events, skipped


def written_events(dirs: Dirs, network: str, day: datetime.date) -> dict[str, tuple]:
    return {
        row["event_id"]: (
            row["event_type"],
            row["actor_account_id"],
            row["target_account_id"],
            row["target_post_id"],
            row["post_id"],
        )
        for row in dirs.events(network, day).to_pylist()
    }


def test_real_rows_map_to_the_documented_events(dirs, se_site):
    site_dir = se_site()
    manifests = stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())

    events = written_events(dirs, QC, SE_FIRST_DAY)
    expected, skipped = reference_events(site_dir)
    assert events == expected
    # A few rows by hand. Post 1: question by user 7; post 5 answers it (owner 29).
    assert events["post:1"] == ("post", "7", None, None, "1")
    assert events["answer:5"] == ("answer", "29", "7", "1", "5")
    # Comment 7 by user 26 on question 3 (owner 27); its own id space, hence "c7".
    assert events["comment:7"] == ("comment", "26", "27", "3", "c7")
    # Vote 32: user 27 favourites question 4 (owner 13). Vote 1: anonymous upvote of post 1.
    assert events["vote:32"] == ("favourite", "27", "13", "4", None)
    assert events["vote:1"] == ("like", None, "7", "1", None)
    # Vote 7 is an anonymous downvote of post 2, which is not in the dump (deleted): no account.
    assert "vote:7" not in events

    rows = dirs.events(QC, SE_FIRST_DAY).to_pylist()
    assert {row["occurred_at"] for row in rows if row["event_id"].startswith("vote:")} == {
        datetime.datetime(2018, 3, 12, tzinfo=datetime.UTC)
    }
    assert next(row for row in rows if row["event_id"] == "post:1")["occurred_at"] == datetime.datetime(
        2018, 3, 12, 17, 0, 45, 567000, tzinfo=datetime.UTC
    )
    assert next(row for row in rows if row["event_id"] == "comment:7")["source_file"] == "Comments.xml.gz"

    events_manifest = next(m for m in manifests if m.entity == "events")
    assert events_manifest.skipped_by_reason == dict(skipped)
    assert events_manifest.rows_read == 30 + 30 + 200
    assert events_manifest.rows_read == events_manifest.rows_written + events_manifest.rows_skipped
    assert set(events_manifest.source_files) == {"Posts.xml.gz", "Comments.xml.gz", "Votes.xml.gz"}


def test_accounts_snapshot_and_identity_links(dirs, se_site):
    se_site()
    manifests = {m.entity: m for m in stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())}
    users = xml_rows(dirs.samples / "stackexchange" / "quantumcomputing" / "Users.xml.gz")

    accounts = dirs.table(QC, "accounts", SE_FIRST_DAY).to_pylist()
    assert [row["account_id"] for row in accounts] == [row["Id"] for row in users]  # all 60 created by 2018-03-12
    community = accounts[0]
    assert (community["account_id"], community["display_name"], community["reputation"]) == ("-1", "Community", 1)
    assert community["created_at"] == datetime.datetime(2018, 3, 9, 18, 48, 9, 477000, tzinfo=datetime.UTC)

    links = dirs.table(QC, "identity_links", SE_FIRST_DAY).to_pylist()
    assert {(row["account_id"], row["identity_key"]) for row in links} == {
        (row["Id"], row["AccountId"]) for row in users if row["Id"] != "-1"
    }
    assert {row["identity_namespace"] for row in links} == {"stackexchange"}
    assert manifests["identity_links"].skipped_by_reason == {"community_user_not_a_person": 1}

    # The day before the site opened to the public only the staff accounts existed.
    earlier = datetime.date(2018, 3, 10)
    stackexchange.extract_day(earlier, **dirs.kwargs())
    expected = [row["Id"] for row in users if row["CreationDate"] < "2018-03-11"]
    assert [row["account_id"] for row in dirs.table(QC, "accounts", earlier).to_pylist()] == expected
    assert dirs.events(QC, earlier).num_rows == 0


def test_one_bad_site_fails_the_call_before_anything_is_written(dirs, se_site):
    se_site("quantumcomputing")
    se_site("zz_broken", replace={"Posts": BAD_INPUTS / "stackexchange" / "posts_truncated_gzip" / "Posts.xml.gz"})
    with pytest.raises(SourceError, match="zz_broken/Posts.xml.gz"):
        stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())
    assert not dirs.raw.exists()


def test_missing_dump_file_is_a_source_error(dirs, se_site):
    site_dir = se_site()
    (site_dir / "Votes.xml.gz").unlink()
    with pytest.raises(SourceError) as raised:
        stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())
    assert (
        str(raised.value)
        == f"{site_dir / 'Votes.xml.gz'}: missing file (a site needs Users, Posts, Comments and Votes .xml.gz)"
    )


@pytest.fixture(scope="module")
def qc_history(tmp_path_factory) -> tuple[Dirs, dict]:
    """The whole quantumcomputing history extracted day by day from the real dump (the
    conlang dump rides along: the source writes every site)."""
    root = tmp_path_factory.mktemp("se_history")
    dirs = Dirs(REAL_SAMPLES, root / "raw", root / "quarantine", root / "cache")
    manifests = {day: stackexchange.extract_day(day, **dirs.kwargs()) for day in QC_HISTORY}
    return dirs, manifests


def test_whole_history_adds_up(qc_history):
    dirs, manifests = qc_history
    posts, comments, votes, users = (
        xml_rows(REAL_SE / "quantumcomputing" / f"{kind}.xml.gz") for kind in ("Posts", "Comments", "Votes", "Users")
    )
    events = [m for day in QC_HISTORY for m in manifests[day] if m.network == QC and m.entity == "events"]
    # Every row of the dump falls on one of the 175 days and is read exactly once.
    assert sum(m.rows_read for m in events) == len(posts) + len(comments) + len(votes) == 1986 + 3413 + 12560
    assert sum(m.rows_rejected for m in events) == 0
    skipped = Counter()
    for manifest in events:
        skipped.update(manifest.skipped_by_reason)
    assert skipped["vote_type_not_social"] == sum(row["VoteTypeId"] not in ("1", "2", "3", "5") for row in votes) == 689
    assert skipped["post_type_not_social"] == sum(row["PostTypeId"] not in ("1", "2") for row in posts)
    written = Counter()
    for day in QC_HISTORY:
        written.update(dirs.events(QC, day)["event_type"].to_pylist())
    assert written["post"] == sum(row["PostTypeId"] == "1" and "OwnerUserId" in row for row in posts)
    assert written["comment"] == sum("UserId" in row for row in comments)
    assert written["favourite"] == sum(row["VoteTypeId"] == "5" for row in votes)
    last = QC_HISTORY[-1]
    assert dirs.table(QC, "accounts", last).num_rows == len(users) == 3461
    assert not (dirs.quarantine / QC).exists()


def test_accept_vote_from_the_real_dump(qc_history):
    dirs, _ = qc_history
    posts = {row["Id"]: row for row in xml_rows(REAL_SE / "quantumcomputing" / "Posts.xml.gz")}
    vote = next(row for row in xml_rows(REAL_SE / "quantumcomputing" / "Votes.xml.gz") if row["VoteTypeId"] == "1")
    answer = posts[vote["PostId"]]
    day = datetime.date.fromisoformat(vote["CreationDate"][:10])
    row = next(row for row in dirs.events(QC, day).to_pylist() if row["event_id"] == f"vote:{vote['Id']}")
    assert row["event_type"] == "accept"
    assert row["actor_account_id"] == posts[answer["ParentId"]]["OwnerUserId"]  # the asker accepts
    assert row["target_account_id"] == answer["OwnerUserId"]
    assert row["target_post_id"] == vote["PostId"]


def test_identity_links_join_the_two_sites(qc_history):
    """data/README.md: 68 accounts are on both sites. After both dumps end, the snapshots hold
    every user, and exactly those 68 AccountIds appear in both networks' identity links."""
    dirs, _ = qc_history
    after_both = datetime.date(2020, 9, 1)
    stackexchange.extract_day(after_both, **dirs.kwargs())
    keys = {
        network: set(dirs.table(network, "identity_links", after_both)["identity_key"].to_pylist())
        for network in (QC, "se_conlang")
    }
    assert len(keys[QC] & keys["se_conlang"]) == 68


def test_dump_is_parsed_once(qc_history, monkeypatch, tmp_path):
    dirs, _ = qc_history

    def must_not_parse(*_args):
        raise AssertionError("dump re-parsed although unchanged")

    monkeypatch.setattr(stackexchange, "_build_site_cache", must_not_parse)
    elsewhere = Dirs(REAL_SAMPLES, tmp_path / "raw", tmp_path / "quarantine", dirs.cache)
    stackexchange.extract_day(datetime.date(2018, 5, 1), **elsewhere.kwargs())
    assert (
        elsewhere.events(QC, datetime.date(2018, 5, 1)).num_rows
        == dirs.events(QC, datetime.date(2018, 5, 1)).num_rows
        > 0
    )

    copy = tmp_path / "samples"
    shutil.copytree(REAL_SAMPLES / "stackexchange", copy / "stackexchange")
    (copy / "stackexchange" / "conlang" / "Votes.xml.gz").write_bytes(
        gzip.compress(gzip.decompress((REAL_SE / "conlang" / "Votes.xml.gz").read_bytes()), mtime=0, compresslevel=1)
    )
    with pytest.raises(AssertionError, match="re-parsed"):
        stackexchange.extract_day(
            datetime.date(2018, 5, 1), **Dirs(copy, tmp_path / "raw", tmp_path / "q", dirs.cache).kwargs()
        )
