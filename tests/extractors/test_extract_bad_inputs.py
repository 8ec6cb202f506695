"""The bad-input corpus (tests/bad_inputs/, built from the real sample by build_corpus.py):
every case either quarantines exactly the damaged rows and succeeds, or raises a one-line
SourceError naming the file."""

from __future__ import annotations

import datetime
import gzip
import shutil

import pytest

from extractors import higgs, stackexchange
from extractors.errors import SourceError
from influence.settings import partition_dir

from conftest import BAD_INPUTS, SE_FIRST_DAY, real_higgs_lines, xml_rows

JULY_1 = datetime.date(2012, 7, 1)
QC = "se_quantumcomputing"
HIGGS_BASE_LINES = 40  # the corpus files are the first 40 real lines, all on 2012-07-01

# file -> {source line: reason} of the rows that must be quarantined
HIGGS_QUARANTINED = {
    "wrong_column_count": {5: "wrong_column_count", 12: "wrong_column_count", 20: "wrong_column_count"},
    "non_numeric_ids": {7: "non_numeric_id", 9: "non_numeric_id", 11: "non_numeric_timestamp"},
    "future_timestamp": {8: "timestamp_out_of_range", 9: "timestamp_out_of_range"},
    "unknown_event_type": {6: "unknown_event_type", 10: "unknown_event_type"},
    "latin1_bytes": {4: "undecodable_bytes"},
}
HIGGS_FAILING = {
    "truncated": "unreadable gzip after line",
    "not_gzip": "unreadable gzip after line 0",
    "empty": "empty file",
    "empty_content": "empty file",
    "all_lines_bad": "none of its 10 rows is usable (first: line 1: expected 4 space-separated columns",
}


def assert_one_line_naming(error: SourceError, path, fragment: str) -> None:
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert fragment in message


@pytest.mark.parametrize("case", sorted(HIGGS_QUARANTINED))
def test_higgs_damaged_lines_are_quarantined(dirs, higgs_file, case):
    source = higgs_file((BAD_INPUTS / "higgs" / f"{case}.txt.gz").read_bytes())
    manifests = {m.entity: m for m in higgs.extract_day(JULY_1, **dirs.kwargs())}

    expected = HIGGS_QUARANTINED[case]
    quarantined = dirs.quarantine_rows("twitter", "events", JULY_1)
    assert {row["source_line"]: row["reason"] for row in quarantined} == expected
    lines = dict(enumerate(gzip.decompress(source.read_bytes()).splitlines(), start=1))
    for row in quarantined:
        assert row["raw_record"] == lines[row["source_line"]].decode("utf-8", "backslashreplace")
        assert row["network"] == "twitter" and row["source_file"] == source.name and row["detail"]
    events = manifests["events"]
    assert (events.rows_read, events.rows_rejected) == (HIGGS_BASE_LINES, len(expected))
    assert events.rows_written == HIGGS_BASE_LINES - len(expected) == dirs.events("twitter", JULY_1).num_rows
    assert set(dirs.events("twitter", JULY_1)["source_line"].to_pylist()).isdisjoint(expected)

    # Re-extracting replaces the quarantine partition; nothing is counted twice.
    higgs.extract_day(JULY_1, **dirs.kwargs())
    assert len(dirs.quarantine_rows("twitter", "events", JULY_1)) == len(expected)


@pytest.mark.parametrize("case", sorted(HIGGS_FAILING))
def test_higgs_unusable_file_is_a_source_error(dirs, higgs_file, case):
    source = higgs_file((BAD_INPUTS / "higgs" / f"{case}.txt.gz").read_bytes())
    with pytest.raises(SourceError) as raised:
        higgs.extract_day(JULY_1, **dirs.kwargs())
    assert_one_line_naming(raised.value, source, HIGGS_FAILING[case])
    assert not dirs.raw.exists() and not dirs.quarantine.exists()


def test_higgs_latin1_line_keeps_its_bytes_visible(dirs, higgs_file):
    higgs_file((BAD_INPUTS / "higgs" / "latin1_bytes.txt.gz").read_bytes())
    higgs.extract_day(JULY_1, **dirs.kwargs())
    (row,) = dirs.quarantine_rows("twitter", "events", JULY_1)
    assert row["raw_record"] == "caf\\xe9 168366 1341101183 MT"


def test_higgs_duplicated_line_is_written_once_per_occurrence_and_counted(dirs, higgs_file):
    higgs_file((BAD_INPUTS / "higgs" / "duplicated_lines.txt.gz").read_bytes())
    manifest = higgs.extract_day(JULY_1, **dirs.kwargs())[0]
    ids = dirs.events("twitter", JULY_1)["event_id"].to_pylist()
    third = real_higgs_lines(3)[2].decode().split()
    duplicated = f"{third[3].lower()}:{third[0]}:{third[1]}:{third[2]}"
    assert ids.count(duplicated) == 2 and len(ids) == HIGGS_BASE_LINES + 1
    assert (manifest.duplicate_event_ids, manifest.rows_rejected) == (1, 0)


def test_higgs_crlf_line_endings_are_not_damage(dirs, higgs_file):
    higgs_file((BAD_INPUTS / "higgs" / "crlf_line_endings.txt.gz").read_bytes())
    manifest = higgs.extract_day(JULY_1, **dirs.kwargs())[0]
    assert (manifest.rows_written, manifest.rows_rejected) == (HIGGS_BASE_LINES, 0)
    assert dirs.events("twitter", JULY_1)["event_id"][0].as_py() == "mt:223789:213163:1341100972"


# --- Stack Exchange: one damaged file in an otherwise real site slice ---------------------------

# case -> (file kind, entity, {row ordinal: reason})
SE_QUARANTINED = {
    "posts_malformed_rows": (
        "Posts",
        "events",
        {
            3: "missing_attribute",
            6: "non_numeric_value",
            8: "bad_timestamp",
            10: "unknown_post_type",
            12: "missing_attribute",
        },
    ),
    "posts_renamed_attribute": ("Posts", "events", {4: "missing_attribute"}),
    "votes_malformed": ("Votes", "events", {11: "non_numeric_value", 21: "unknown_vote_type", 31: "missing_attribute"}),
    "votes_unexpected_element": ("Votes", "events", {51: "unexpected_element"}),
    "users_bad_account_id": ("Users", "identity_links", {6: "non_numeric_value"}),
}
SE_FAILING = {
    "posts_truncated_gzip": ("Posts", "unreadable gzip after row"),
    "posts_partial_xml": ("Posts", "not well-formed XML at line 13"),
    "posts_all_renamed": (
        "Posts",
        "none of its 30 rows is usable (first: line 1: required attribute CreationDate is missing)",
    ),
    "posts_wrong_root": ("Posts", "root element <users>, expected <posts>"),
    "users_latin1": ("Users", "not well-formed XML at line 6"),
    "comments_empty_file": ("Comments", "empty file (0 bytes)"),
}


@pytest.mark.parametrize("case", sorted(SE_QUARANTINED))
def test_se_damaged_rows_are_quarantined(dirs, se_site, case):
    kind, entity, expected = SE_QUARANTINED[case]
    se_site(replace={kind: BAD_INPUTS / "stackexchange" / case / f"{kind}.xml.gz"})
    manifests = {m.entity: m for m in stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs()) if m.network == QC}

    quarantined = dirs.quarantine_rows(QC, entity, SE_FIRST_DAY)
    assert {row["source_line"]: row["reason"] for row in quarantined} == expected
    assert all(row["source_file"] == f"{kind}.xml.gz" and row["raw_record"].startswith("<") for row in quarantined)
    manifest = manifests[entity]
    assert manifest.rows_rejected == len(expected)
    assert manifest.rows_read == manifest.rows_written + manifest.rows_rejected + manifest.rows_skipped
    for other in {"events", "accounts", "identity_links"} - {entity}:
        assert manifests[other].rows_rejected == 0 and not dirs.quarantine_rows(QC, other, SE_FIRST_DAY)

    stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())
    assert len(dirs.quarantine_rows(QC, entity, SE_FIRST_DAY)) == len(expected)


@pytest.mark.parametrize("case", sorted(SE_FAILING))
def test_se_unusable_file_is_a_source_error(dirs, se_site, case):
    kind, fragment = SE_FAILING[case]
    site_dir = se_site(replace={kind: BAD_INPUTS / "stackexchange" / case / f"{kind}.xml.gz"})
    with pytest.raises(SourceError) as raised:
        stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())
    assert_one_line_naming(raised.value, site_dir / f"{kind}.xml.gz", fragment)
    assert not dirs.raw.exists()


def test_se_renamed_attribute_row_is_the_only_loss_and_extra_attributes_are_ignored(dirs, se_site, tmp_path):
    se_site(replace={"Posts": BAD_INPUTS / "stackexchange" / "posts_renamed_attribute" / "Posts.xml.gz"})
    stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())
    damaged = set(dirs.events(QC, SE_FIRST_DAY)["event_id"].to_pylist())

    shutil.rmtree(dirs.samples / "stackexchange")
    se_site()
    stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())
    clean = set(dirs.events(QC, SE_FIRST_DAY)["event_id"].to_pylist())
    # Row 4 (post 5, an answer) lost its CreationDate; row 5 (post 6) gained FutureAttribute="yes".
    # With post 5 quarantined, its owner is unknown: the anonymous votes on it go with it
    # (skipped as target_unknown, counted in the manifest).
    votes_on_5 = {
        f"vote:{row['Id']}"
        for row in xml_rows(dirs.samples / "stackexchange" / "quantumcomputing" / "Votes.xml.gz")
        if row["PostId"] == "5" and row["VoteTypeId"] in ("2", "3")
    }
    assert votes_on_5 and clean - damaged == {"answer:5"} | votes_on_5
    assert "post:6" in damaged
    assert not partition_dir(dirs.quarantine, QC, "events", SE_FIRST_DAY).exists()  # stale quarantine removed


def test_se_duplicated_row_is_written_twice_and_counted(dirs, se_site):
    se_site(replace={"Posts": BAD_INPUTS / "stackexchange" / "posts_duplicated_row" / "Posts.xml.gz"})
    manifest = next(m for m in stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs()) if m.entity == "events")
    assert dirs.events(QC, SE_FIRST_DAY)["event_id"].to_pylist().count("post:6") == 2
    assert manifest.duplicate_event_ids == 1


def test_se_missing_bom_changes_nothing(dirs, se_site):
    se_site()
    stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())
    with_bom = dirs.table(QC, "accounts", SE_FIRST_DAY)
    shutil.rmtree(dirs.samples / "stackexchange")
    se_site(replace={"Users": BAD_INPUTS / "stackexchange" / "users_no_bom" / "Users.xml.gz"})
    stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())
    assert dirs.table(QC, "accounts", SE_FIRST_DAY).equals(with_bom) and with_bom.num_rows == 60


def test_se_bad_account_id_keeps_the_account(dirs, se_site):
    se_site(replace={"Users": BAD_INPUTS / "stackexchange" / "users_bad_account_id" / "Users.xml.gz"})
    manifests = {m.entity: m for m in stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs())}
    assert manifests["accounts"].rows_written == 60
    assert manifests["identity_links"].rows_written == 58  # 60 - Community - the bad AccountId
    assert manifests["identity_links"].skipped_by_reason == {"community_user_not_a_person": 1}


def test_se_comments_without_rows_are_a_quiet_day(dirs, se_site):
    se_site(replace={"Comments": BAD_INPUTS / "stackexchange" / "comments_no_rows" / "Comments.xml.gz"})
    manifest = next(m for m in stackexchange.extract_day(SE_FIRST_DAY, **dirs.kwargs()) if m.entity == "events")
    assert "comment" not in set(dirs.events(QC, SE_FIRST_DAY)["event_type"].to_pylist())
    assert manifest.rows_read == 30 + 200 and manifest.rows_rejected == 0
