"""The raw loader: every physical line ends in raw.<source> or raw.rejected_lines."""

import gzip
import json
import os
from datetime import date

import duckdb
import pytest

from bizintel_dagster.defs.raw import landing

DAY = date(2026, 6, 1)
HEADER = ",".join(landing.TICKETING_COLUMNS)


@pytest.fixture
def con():
    c = duckdb.connect()
    landing.ensure_tables(c)
    yield c
    c.close()


def _write(root, source, name, data: bytes):
    folder = landing.partition_dir(root, source, DAY)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def _rejects(con, source):
    return con.execute(
        "select source_file, line_number, reason from raw.rejected_lines where source = ? order by 1, 2", [source]
    ).fetchall()


def test_jsonl_every_line_is_loaded_or_rejected_with_a_reason(tmp_path, con):
    _write(tmp_path, "app_events", "a.jsonl", b'{"a":1}\n{"a":2,\n\xff\xfe bad\n\n[1,2]\r\n{"a":3}\r\n"text"\n{"a":4}')
    [result] = landing.load_partition(con, tmp_path, "app_events", DAY)
    assert (result.lines_total, result.lines_loaded, result.lines_rejected) == (8, 3, 5)
    assert con.execute("select line_number from raw.app_events order by 1").fetchall() == [(1,), (6,), (8,)]
    assert _rejects(con, "app_events") == [
        ("a.jsonl", 2, "invalid JSON (unparseable or truncated line)"),
        ("a.jsonl", 3, "invalid UTF-8 bytes"),
        ("a.jsonl", 4, "empty line"),
        ("a.jsonl", 5, "JSON value is not an object"),
        ("a.jsonl", 7, "JSON value is not an object"),
    ]


def test_reloading_a_partition_replaces_it(tmp_path, con):
    path = _write(tmp_path, "app_events", "a.jsonl", b'{"a":1}\nbad\n')
    landing.load_partition(con, tmp_path, "app_events", DAY)
    landing.load_partition(con, tmp_path, "app_events", DAY)
    assert con.execute("select count(*) from raw.app_events").fetchall() == [(1,)]
    assert con.execute("select count(*) from raw.rejected_lines").fetchall() == [(1,)]
    assert con.execute("select count(*) from raw.landing_files").fetchall() == [(1,)]
    path.write_bytes(b'{"a":1}\n{"a":2}\n')  # the file was corrected upstream
    landing.load_partition(con, tmp_path, "app_events", DAY)
    assert con.execute("select count(*) from raw.app_events").fetchall() == [(2,)]
    assert con.execute("select count(*) from raw.rejected_lines").fetchall() == [(0,)]


def test_csv_rows_with_wrong_field_counts_or_bytes_are_rejected_with_line_numbers(tmp_path, con):
    good = "t1,usr_1,\"Doe, Ann\",a@x.io,+27,ven_jhb,2026-06-01,VIP,yes,2026-06-01T10:00:00Z"
    body = "\n".join([
        HEADER,
        good,
        "t2,usr_2,Al,a@x,1,ven_jhb,2026-06-01,VIP,no",  # a field missing
        "",
        "t4,usr_4,A,a,1,ven_jhb,2026-06-01,VIP,no,,extra",  # shifted: one field too many
        "t5,usr_5,=HYPERLINK(\"x\"),a,1,ven_jhb,2026-06-01,General,no,",
    ]).encode() + b"\nt6,usr_6,\xff,a,1,ven_jhb,2026-06-01,VIP,no,\n"
    _write(tmp_path, "ticketing", "guests.csv", body)
    [result] = landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert (result.lines_total, result.lines_loaded, result.lines_rejected) == (6, 2, 4)
    rows = con.execute("select payload ->> 'ticket_id', payload ->> 'attendee_name' from raw.ticketing order by 1").fetchall()
    assert rows == [("t1", "Doe, Ann"), ("t5", '=HYPERLINK("x")')]
    rejected = _rejects(con, "ticketing")
    assert [(line, reason.split(":")[0]) for _, line, reason in rejected] == [
        (3, "MISSING COLUMNS"), (4, "empty line"), (5, "TOO MANY COLUMNS"), (7, "INVALID ENCODING"),
    ]


def test_csv_with_a_foreign_header_is_quarantined_whole(tmp_path, con):
    _write(tmp_path, "ticketing", "other.csv", b"id,name\n1,a\n2,b\n")
    [result] = landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert (result.lines_total, result.lines_loaded, result.lines_rejected) == (3, 0, 3)
    assert [line for _, line, _ in _rejects(con, "ticketing")] == [1, 2, 3]
    assert all("header row missing" in r for _, _, r in _rejects(con, "ticketing"))


@pytest.mark.parametrize("data", [b"", HEADER.encode() + b"\n"])
def test_empty_and_header_only_files_load_nothing_and_fail_nothing(tmp_path, con, data):
    _write(tmp_path, "ticketing", "empty.csv", data)
    [result] = landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert (result.status, result.lines_total, result.lines_loaded, result.lines_rejected) == ("loaded", 0, 0, 0)


def test_unsafe_names_and_symlinks_are_rejected_and_in_flight_files_skipped(tmp_path, con):
    _write(tmp_path, "app_events", "bad name;rm -rf.jsonl", b'{"a":1}\n')
    _write(tmp_path, "app_events", ".half-written.jsonl.tmp", b'{"a":1}\n')
    _write(tmp_path, "app_events", "partial.jsonl.part", b'{"a":1}\n')
    secret = tmp_path / "secret.jsonl"
    secret.write_bytes(b'{"password":"x"}\n')
    (landing.partition_dir(tmp_path, "app_events", DAY) / "link.jsonl").symlink_to(secret)
    results = {r.source_file: r for r in landing.load_partition(con, tmp_path, "app_events", DAY)}
    assert {n: r.status for n, r in results.items()} == {
        "bad name;rm -rf.jsonl": "rejected", "link.jsonl": "rejected",
        ".half-written.jsonl.tmp": "skipped", "partial.jsonl.part": "skipped"}
    assert all(r.lines_loaded == 0 for r in results.values())
    assert "symbolic link" in results["link.jsonl"].reason
    # the unsafe name is rejected but its line is counted and quarantined; the link is never read
    assert (results["bad name;rm -rf.jsonl"].lines_total, results["bad name;rm -rf.jsonl"].lines_rejected) == (1, 1)
    assert results["link.jsonl"].lines_total == 0 and results[".half-written.jsonl.tmp"].lines_total == 0
    assert con.execute("select count(*) from raw.app_events").fetchall() == [(0,)]
    assert con.execute("select count(*) from raw.rejected_lines where line_excerpt like '%password%'").fetchall() == [(0,)]


def test_a_failed_load_leaves_the_previous_partition_intact(tmp_path, con, monkeypatch):
    _write(tmp_path, "app_events", "a.jsonl", b'{"a":1}\n')
    landing.load_partition(con, tmp_path, "app_events", DAY)
    _write(tmp_path, "app_events", "b.jsonl", b'{"a":2}\n')

    def explode(*args, **kwargs):
        raise OSError("disk went away")

    monkeypatch.setattr(landing, "load_jsonl", explode)
    with pytest.raises(OSError):
        landing.load_partition(con, tmp_path, "app_events", DAY)
    assert con.execute("select count(*) from raw.app_events").fetchall() == [(1,)]
    assert con.execute("select count(*) from raw.landing_files").fetchall() == [(1,)]


# --- Files that break the landing contract (issue 13): nothing may vanish -------------------------

def _conserved(con, source):
    """Per file: lines_total = loaded + rejected, and the raw tables hold exactly those rows."""
    files = con.execute(
        "select source_file, lines_total, lines_loaded, lines_rejected from raw.landing_files where source = ?", [source]
    ).fetchall()
    for name, total, loaded, rejected in files:
        assert total == loaded + rejected, name
        assert con.execute(f"select count(*) from raw.{source} where source_file = ?", [name]).fetchall()[0][0] == loaded
        assert con.execute("select count(*) from raw.rejected_lines where source = ? and source_file = ?",
                           [source, name]).fetchall()[0][0] == rejected
    return {name: (total, loaded, rejected) for name, total, loaded, rejected in files}


def test_paths_outside_any_source_day_are_reported(tmp_path, con):
    (tmp_path / "app_event" / "dt=2026-06-01").mkdir(parents=True)  # misspelled source
    (tmp_path / "app_event" / "dt=2026-06-01" / "a.jsonl").write_bytes(b"{}\n")
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "loose.jsonl").write_bytes(b"{}\n")  # no dt= folder
    (tmp_path / "billing" / "dt=2026-13-45").mkdir()  # not a date
    (tmp_path / "billing" / "dt=2026-13-45" / "b.jsonl").write_bytes(b"{}\n")
    (tmp_path / "notes.txt").write_bytes(b"hi\n")
    (tmp_path / "_generator_summary.json").write_bytes(b"{}")  # tool metadata: not reported
    _write(tmp_path, "billing", "ok.jsonl", b"{}\n")  # a proper day: not reported
    found = dict(landing.unpartitioned_paths(tmp_path))
    assert set(found) == {"app_event/", "billing/loose.jsonl", "billing/dt=2026-13-45/", "notes.txt"}
    assert "did you mean 'app_events'" in found["app_event/"] and "1 file(s)" in found["app_event/"]


def test_files_in_a_sub_folder_of_a_day_are_rejected_with_every_line_quarantined(tmp_path, con):
    _write(tmp_path, "app_events", "ok.jsonl", b'{"a":1}\n')
    sub = landing.partition_dir(tmp_path, "app_events", DAY) / "retry" / "deep"
    sub.mkdir(parents=True)
    (sub / "late.jsonl").write_bytes(b'{"a":2}\n{"a":3}\n')
    results = {r.source_file: r for r in landing.load_partition(con, tmp_path, "app_events", DAY)}
    assert results["retry/deep/late.jsonl"].status == "rejected"
    assert "sub-folder" in results["retry/deep/late.jsonl"].reason
    assert _conserved(con, "app_events") == {"ok.jsonl": (1, 1, 0), "retry/deep/late.jsonl": (2, 0, 2)}


def test_a_symlinked_folder_in_a_day_is_recorded_not_followed(tmp_path, con):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.jsonl").write_bytes(b'{"secret":1}\n')
    folder = landing.partition_dir(tmp_path, "app_events", DAY)
    folder.mkdir(parents=True)
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    [result] = landing.load_partition(con, tmp_path, "app_events", DAY)
    assert (result.source_file, result.status, result.lines_total) == ("linked", "rejected", 0)
    assert con.execute("select count(*) from raw.rejected_lines").fetchall() == [(0,)]


def test_extensions_are_case_insensitive_ndjson_and_gzip_are_read(tmp_path, con):
    _write(tmp_path, "app_events", "upper.JSONL", b'{"a":1}\n')
    _write(tmp_path, "app_events", "b.ndjson", b'{"a":2}\n{"a":3}\n')
    _write(tmp_path, "app_events", "c.jsonl.gz", gzip.compress(b'{"a":4}\nbad\n'))
    _write(tmp_path, "app_events", "d.jsonl", gzip.compress(b'{"a":5}\n'))  # gzip detected by content
    landing.load_partition(con, tmp_path, "app_events", DAY)
    assert _conserved(con, "app_events") == {
        "upper.JSONL": (1, 1, 0), "b.ndjson": (2, 2, 0), "c.jsonl.gz": (2, 1, 1), "d.jsonl": (1, 1, 0)}
    _write(tmp_path, "ticketing", "t.CSV", f"{HEADER}\nt1,u,n,e,p,v,2026-06-01,VIP,no,\n".encode())
    landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert _conserved(con, "ticketing") == {"t.CSV": (1, 1, 0)}


@pytest.mark.parametrize("name, data, reason", [
    ("space name.jsonl", b'{"a":1}\n{"a":2}\n', "does not match the landing contract"),
    ("caf\u00e9.jsonl", b'{"a":1}\n{"a":2}\n', "does not match the landing contract"),
    ("events.txt", b'{"a":1}\n{"a":2}\n', ".txt file in a jsonl source"),
    ("broken.jsonl.gz", b"\x1f\x8b\x08\x00garbage\nmore\n", "gzip data could not be decompressed"),
])
def test_rejected_files_keep_every_line_in_the_accounting(tmp_path, con, name, data, reason):
    _write(tmp_path, "app_events", name, data)
    [result] = landing.load_partition(con, tmp_path, "app_events", DAY)
    assert result.status == "rejected" and reason in result.reason
    assert _conserved(con, "app_events") == {name: (2, 0, 2)}
    assert {r for _, _, r in _rejects(con, "app_events")} == {result.reason}


def test_a_jsonl_byte_order_mark_is_stripped(tmp_path, con):
    _write(tmp_path, "app_events", "bom.jsonl", b'\xef\xbb\xbf{"a":1}\n{"a":2}\n')
    landing.load_partition(con, tmp_path, "app_events", DAY)
    assert _conserved(con, "app_events") == {"bom.jsonl": (2, 2, 0)}


ROW1 = "t1,usr_1,Ann,a@x.io,+27,ven_jhb,2026-06-01,VIP,yes,2026-06-01T10:00:00Z"
ROW2 = "t2,usr_2,Bob,b@x.io,+27,ven_jhb,2026-06-01,General,no,"


@pytest.mark.parametrize("eol", [b"\r", b"\r\n"], ids=["classic-mac-cr", "crlf"])
def test_csv_cr_only_and_crlf_line_ends_load(tmp_path, con, eol):
    _write(tmp_path, "ticketing", "mac.csv", eol.join(x.encode() for x in (HEADER, ROW1, ROW2)) + eol)
    landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert _conserved(con, "ticketing") == {"mac.csv": (2, 2, 0)}
    assert con.execute("select payload ->> 'checked_in_at' from raw.ticketing where payload ->> 'ticket_id' = 't1'"
                       ).fetchall() == [("2026-06-01T10:00:00Z",)]


def test_csv_without_its_header_is_quarantined_whole(tmp_path, con):
    _write(tmp_path, "ticketing", "noheader.csv", f"{ROW1}\n{ROW2}\n".encode())
    [result] = landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert _conserved(con, "ticketing") == {"noheader.csv": (2, 0, 2)}
    assert [(line, "header row missing" in r) for _, line, r in _rejects(con, "ticketing")] == [(1, True), (2, True)]


def test_csv_header_with_a_missing_column_names_it(tmp_path, con):
    _write(tmp_path, "ticketing", "short.csv", (",".join(landing.TICKETING_COLUMNS[:-1]) + "\n" + ROW1 + "\n").encode())
    [result] = landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert result.lines_rejected == 2 and "missing ['checked_in_at']" in result.reason


def test_csv_columns_are_mapped_by_header_name(tmp_path, con):
    columns = list(reversed(landing.TICKETING_COLUMNS))
    row = dict(zip(landing.TICKETING_COLUMNS, ROW1.split(",")))
    _write(tmp_path, "ticketing", "permuted.csv",
           (",".join(columns) + "\n" + ",".join(row[c] for c in columns) + "\n").encode())
    landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert _conserved(con, "ticketing") == {"permuted.csv": (1, 1, 0)}
    [(payload,)] = con.execute("select payload::varchar from raw.ticketing").fetchall()
    assert json.loads(payload) == row
    assert list(json.loads(payload)) == landing.TICKETING_COLUMNS  # contract order


def test_csv_quoted_newline_is_one_record_and_an_unterminated_quote_is_quarantined(tmp_path, con):
    multi = 't3,usr_3,"Ann\nSmith",a@x.io,+27,ven_jhb,2026-06-01,VIP,no,'
    broken = 't4,usr_4,"Unclosed,a@x.io,+27,ven_jhb,2026-06-01,VIP,no,'
    _write(tmp_path, "ticketing", "q.csv", "\n".join([HEADER, ROW1, multi, broken, ROW2]).encode() + b"\n")
    [result] = landing.load_partition(con, tmp_path, "ticketing", DAY)
    # 6 physical lines: the header, 4 records (the quoted newline joins lines 3 and 4)
    assert _conserved(con, "ticketing") == {"q.csv": (4, 3, 1)}
    rows = dict(con.execute("select payload ->> 'ticket_id', line_number from raw.ticketing").fetchall())
    assert rows == {"t1": 2, "t3": 3, "t2": 6}
    assert con.execute("select payload ->> 'attendee_name' from raw.ticketing where payload ->> 'ticket_id' = 't3'"
                       ).fetchall() == [("Ann\nSmith",)]
    [(_, line, reason)] = _rejects(con, "ticketing")
    assert line == 5 and reason.startswith("UNTERMINATED QUOTE")


def test_csv_text_after_a_closing_quote_is_quarantined(tmp_path, con):
    _write(tmp_path, "ticketing", "x.csv", f'{HEADER}\nt1,usr_1,"Ann"x,a,+27,ven_jhb,2026-06-01,VIP,no,\n{ROW2}\n'.encode())
    landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert _conserved(con, "ticketing") == {"x.csv": (2, 1, 1)}
    assert _rejects(con, "ticketing")[0][2].startswith("MALFORMED QUOTING")


def test_a_csv_byte_order_mark_does_not_spoil_the_header(tmp_path, con):
    _write(tmp_path, "ticketing", "bom.csv", b"\xef\xbb\xbf" + f"{HEADER}\n{ROW1}\n".encode())
    landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert _conserved(con, "ticketing") == {"bom.csv": (1, 1, 0)}


def test_a_named_pipe_is_rejected_without_being_read(tmp_path, con):
    folder = landing.partition_dir(tmp_path, "app_events", DAY)
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.jsonl")  # reading it would block the run forever
    [result] = landing.load_partition(con, tmp_path, "app_events", DAY)
    assert (result.status, result.reason, result.lines_total) == ("rejected", "not a regular file", 0)
