"""The raw loader: every physical line ends in raw.<source> or raw.rejected_lines."""

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


def test_csv_with_a_foreign_header_is_rejected_line_by_line(tmp_path, con):
    _write(tmp_path, "ticketing", "other.csv", b"id,name\n1,a\n2,b\n")
    [result] = landing.load_partition(con, tmp_path, "ticketing", DAY)
    assert (result.lines_total, result.lines_loaded, result.lines_rejected) == (2, 0, 2)
    assert all("does not match the contract" in r for _, _, r in _rejects(con, "ticketing"))


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
    assert set(results) == {"bad name;rm -rf.jsonl", "link.jsonl"}
    assert all(r.status == "rejected" and r.lines_loaded == 0 for r in results.values())
    assert "symbolic links" in results["link.jsonl"].reason
    assert con.execute("select count(*) from raw.app_events").fetchall() == [(0,)]


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
