"""Rebuild the bad-input corpus from the committed real sample (deterministic: gzip mtime 0).

    .venv/bin/python tests/bad_inputs/build_corpus.py

Every file is a few real rows with one kind of damage; README.md lists what each one must
produce (quarantined rows + success, or a one-line SourceError). tests/extractors/test_bad_inputs.py
holds the assertions.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SAMPLES = ROOT.parents[1] / "data" / "samples"
HIGGS = SAMPLES / "higgs" / "higgs-activity_time.txt.gz"
SITE = SAMPLES / "stackexchange" / "quantumcomputing"
BOM = b"\xef\xbb\xbf"


def gz(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as handle:
        handle.write(data)
    return buffer.getvalue()


def real_lines(path: Path, count: int) -> list[bytes]:
    """The first ``count`` lines of a gzipped file, byte for byte (newlines kept)."""
    lines = []
    with gzip.open(path, "rb") as handle:
        for line in handle:
            lines.append(line)
            if len(lines) == count:
                break
    return lines


def xml_parts(kind: str, rows: int) -> tuple[bytes, list[bytes], bytes]:
    """(declaration + root start tag, the first ``rows`` <row> lines, root end tag) of a real
    dump file; every dump row is on its own line."""
    lines = real_lines(SITE / f"{kind}.xml.gz", rows + 2)
    return lines[0] + lines[1], lines[2:], f"</{kind.lower()}>\n".encode()


def write(relative: str, data: bytes) -> None:
    target = ROOT / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def higgs_cases() -> None:
    base = real_lines(HIGGS, 40)

    def with_lines(replacements: dict[int, bytes], inserts: dict[int, bytes] | None = None) -> bytes:
        """Lines are 1-based; ``inserts`` go before the given line of the base."""
        out = []
        for number, line in enumerate(base, start=1):
            if inserts and number in inserts:
                out.append(inserts[number])
            out.append(replacements.get(number, line))
        return b"".join(out)

    full = gz(b"".join(real_lines(HIGGS, 2000)))
    write("higgs/truncated.txt.gz", full[: len(full) * 6 // 10])
    write("higgs/not_gzip.txt.gz", b"".join(base[:10]))
    write("higgs/empty.txt.gz", b"")
    write("higgs/empty_content.txt.gz", gz(b""))
    write(
        "higgs/wrong_column_count.txt.gz",
        gz(with_lines({5: b"223789 213163 1341100972\n", 12: base[11].rstrip(b"\n") + b" extra\n", 20: b"\n"})),
    )
    write(
        "higgs/non_numeric_ids.txt.gz",
        gz(
            with_lines(
                {
                    7: b"user26375 168366 1341101183 MT\n",
                    9: b"376989 -5 1341101192 RT\n",
                    11: b"376989 13813 13411011xx RT\n",
                }
            )
        ),
    )
    write(
        "higgs/future_timestamp.txt.gz",
        gz(with_lines({8: b"376989 13813 4102444800 RT\n", 9: b"376989 13813 0 RT\n"})),
    )
    write(
        "higgs/unknown_event_type.txt.gz",
        gz(with_lines({6: b"26375 168366 1341101183 LK\n", 10: b"26375 168366 1341101183 rt\n"})),
    )
    write("higgs/latin1_bytes.txt.gz", gz(with_lines({4: b"caf\xe9 168366 1341101183 MT\n"})))
    write("higgs/duplicated_lines.txt.gz", gz(with_lines({}, inserts={4: base[2]})))
    write("higgs/crlf_line_endings.txt.gz", gz(b"".join(line.rstrip(b"\n") + b"\r\n" for line in base)))
    write("higgs/all_lines_bad.txt.gz", gz(b"".join(b" ".join(line.split()[:3]) + b"\n" for line in base[:10])))


def stackexchange_cases() -> None:
    head, posts, tail = xml_parts("Posts", 30)
    document = head + b"".join(posts) + tail
    compressed = gz(document)
    write("stackexchange/posts_truncated_gzip/Posts.xml.gz", compressed[: len(compressed) // 2])
    # A row cut in the middle of an attribute, the document ending there (a partial write).
    partial = head + b"".join(posts[:10]) + posts[10][:70]
    write("stackexchange/posts_partial_xml/Posts.xml.gz", gz(partial))
    malformed = list(posts)
    malformed[2] = malformed[2].replace(b' CreationDate="2018-03-12T17:16:15.717"', b"")  # Id 4, question
    malformed[5] = malformed[5].replace(b'OwnerUserId="', b'OwnerUserId="abc')
    malformed[7] = malformed[7].replace(b'CreationDate="2018-03-12T', b'CreationDate="yesterday T')
    malformed[9] = (
        malformed[9].replace(b'PostTypeId="1"', b'PostTypeId="42"').replace(b'PostTypeId="2"', b'PostTypeId="42"')
    )
    answer = next(index for index, row in enumerate(malformed) if b'PostTypeId="2"' in row and index > 10)
    malformed[answer] = malformed[answer].replace(b' ParentId="', b' ParentID="')
    write("stackexchange/posts_malformed_rows/Posts.xml.gz", gz(head + b"".join(malformed) + tail))
    renamed = list(posts)
    renamed[3] = renamed[3].replace(b"CreationDate=", b"CreatedOn=")
    renamed[4] = renamed[4].replace(b"<row ", b'<row FutureAttribute="yes" ')
    write("stackexchange/posts_renamed_attribute/Posts.xml.gz", gz(head + b"".join(renamed) + tail))
    write(
        "stackexchange/posts_all_renamed/Posts.xml.gz",
        gz(head + b"".join(row.replace(b"CreationDate=", b"CreationTime=") for row in posts) + tail),
    )
    write(
        "stackexchange/posts_wrong_root/Posts.xml.gz",
        gz(head.replace(b"<posts>", b"<users>") + b"".join(posts) + b"</users>\n"),
    )
    duplicated = posts[:5] + [posts[4]] + posts[5:]
    write("stackexchange/posts_duplicated_row/Posts.xml.gz", gz(head + b"".join(duplicated) + tail))

    head, users, tail = xml_parts("Users", 60)
    latin1 = list(users)
    latin1[3] = latin1[3].replace(b'DisplayName="', b'DisplayName="Jos\xe9 ', 1)
    write("stackexchange/users_latin1/Users.xml.gz", gz(head + b"".join(latin1) + tail))
    assert head.startswith(BOM), "the real dump starts with a UTF-8 BOM"
    write("stackexchange/users_no_bom/Users.xml.gz", gz(head[len(BOM) :] + b"".join(users) + tail))
    bad_account = list(users)
    bad_account[5] = bad_account[5].replace(b'AccountId="', b'AccountId="x')
    write("stackexchange/users_bad_account_id/Users.xml.gz", gz(head + b"".join(bad_account) + tail))

    head, votes, tail = xml_parts("Votes", 200)
    bad_votes = list(votes)
    bad_votes[10] = bad_votes[10].replace(b'VoteTypeId="2"', b'VoteTypeId="up"')
    bad_votes[20] = bad_votes[20].replace(b'VoteTypeId="2"', b'VoteTypeId="99"')
    bad_votes[30] = bad_votes[30].replace(b' PostId="', b' Post="')
    write("stackexchange/votes_malformed/Votes.xml.gz", gz(head + b"".join(bad_votes) + tail))
    stray = votes[:50] + [votes[50].replace(b"<row ", b"<vote ")] + votes[51:]
    write("stackexchange/votes_unexpected_element/Votes.xml.gz", gz(head + b"".join(stray) + tail))

    head, _, tail = xml_parts("Comments", 1)
    write("stackexchange/comments_empty_file/Comments.xml.gz", b"")
    write("stackexchange/comments_no_rows/Comments.xml.gz", gz(head + tail))


if __name__ == "__main__":
    higgs_cases()
    stackexchange_cases()
