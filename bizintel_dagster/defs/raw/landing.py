"""Load one landing-zone day of one source into the warehouse's ``raw`` schema.

Every physical line of every file ends up in exactly one place: a row of
``raw.<source>`` (parsed JSON or CSV record), or a row of ``raw.rejected_lines``
with its file, line number and reason. ``raw.landing_files`` records each file
with its line counts, which is what conservation checks compare against.

A day is replaced as a whole inside one transaction, so re-loading never
duplicates and a crash leaves the previous load intact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SOURCES: dict[str, str] = {
    "app_events": "jsonl",
    "location_reports": "jsonl",
    "ticketing": "csv",
    "billing": "jsonl",
}

# Column contract of the ticketing export (docs/raw_contract.md): rows with
# another number of fields are rejected rather than shifted into wrong columns.
TICKETING_COLUMNS = [
    "ticket_id", "attendee_id", "attendee_name", "attendee_email", "attendee_phone",
    "venue_id", "event_date", "ticket_type", "checked_in", "checked_in_at",
]

_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*\.(jsonl|csv)$")
_EXCERPT_CHARS = 300

DDL = """
create schema if not exists raw;
create table if not exists raw.landing_files (
    partition_date date, source varchar, source_file varchar, status varchar,
    reason varchar, size_bytes bigint, lines_total bigint, lines_loaded bigint,
    lines_rejected bigint);
create table if not exists raw.rejected_lines (
    partition_date date, source varchar, source_file varchar, line_number bigint,
    reason varchar, line_excerpt varchar);
"""


def source_table_ddl(source: str) -> str:
    return (
        f"create table if not exists raw.{source} (partition_date date, "
        "source_file varchar, line_number bigint, payload json)"
    )


@dataclass(frozen=True)
class FileLoad:
    source_file: str
    status: str  # loaded | rejected
    reason: str | None
    lines_total: int
    lines_loaded: int
    lines_rejected: int


def is_in_flight(name: str) -> bool:
    """A writer's temporary file: skipped now, loaded once it is renamed."""
    return name.startswith(".") or name.endswith((".tmp", ".part"))


def file_name_problem(path: Path, partition_dir: Path) -> str | None:
    """Why a landing file must not be read, or None when it is acceptable."""
    if not _FILE_NAME.match(path.name):
        return f"file name {path.name!r} does not match the landing contract"
    if path.is_symlink():
        return "symbolic links are not accepted in the landing zone"
    try:
        path.resolve().relative_to(partition_dir.resolve())
    except ValueError:
        return "path leaves the landing partition folder"
    return None


def partition_dir(landing: Path, source: str, day: date) -> Path:
    return landing / source / f"dt={day.isoformat()}"


def list_partition_files(landing: Path, source: str, day: date) -> list[Path]:
    folder = partition_dir(landing, source, day)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() or p.is_symlink())


def split_lines(data: bytes) -> pa.Table:
    """Physical lines of a file as (line_number, line) without decoding: bad bytes
    must reach the quarantine, not crash the reader. Vectorised in Arrow."""
    if not data:
        return pa.table({"line_number": pa.array([], pa.int64()), "line": pa.array([], pa.large_binary())})
    lines = pc.split_pattern(pa.array([data], pa.large_binary()), pattern=b"\n").flatten()
    if data.endswith(b"\n"):
        lines = lines.slice(0, len(lines) - 1)  # a final newline ends a line, it starts none
    numbers = pa.array(np.arange(1, len(lines) + 1, dtype=np.int64))
    return pa.table({"line_number": numbers, "line": lines})


def _reject_all(con, day, source, name, lines: pa.Table, reason: str) -> int:
    con.register("_lines", lines)
    con.execute(
        """insert into raw.rejected_lines
           select ?, ?, ?, line_number, ?, left(decode(line, 'replace'), ?) from _lines""",
        [day, source, name, reason, _EXCERPT_CHARS],
    )
    con.unregister("_lines")
    return len(lines)


# JSON whitespace: a valid document is an object when its first other character is "{".
_JSON_WHITESPACE = "' ' || chr(9) || chr(10) || chr(13)"


def load_jsonl(con, day: date, source: str, name: str, lines: pa.Table) -> tuple[int, int]:
    """One classification pass (decode, validate) over the file's lines, then the
    valid objects into raw and the rest into rejected_lines. Excerpts are built
    for rejected lines only."""
    con.register("_lines", lines)
    try:
        con.execute(
            f"""create or replace temp table _classified as
                select line_number, text,
                       case
                         when text is null then 'invalid UTF-8 bytes'
                         when trim(text) = '' then 'empty line'
                         when not json_valid(text) then 'invalid JSON (unparseable or truncated line)'
                         when not starts_with(ltrim(text, {_JSON_WHITESPACE}), '{{') then 'JSON value is not an object'
                       end as reason
                from (select line_number, rtrim(try(decode(line)), chr(13)) as text from _lines)"""
        )
        loaded = con.execute(
            f"insert into raw.{source} select ?, ?, line_number, text::json from _classified where reason is null",
            [day, name],
        ).fetchall()[0][0]
        rejected = con.execute(
            """insert into raw.rejected_lines
               select ?, ?, ?, c.line_number, c.reason,
                      coalesce(left(c.text, ?), left(decode(l.line, 'replace'), ?))
               from _classified c join _lines l using (line_number)
               where c.reason is not null""",
            [day, source, name, _EXCERPT_CHARS, _EXCERPT_CHARS],
        ).fetchall()[0][0]
    finally:
        con.unregister("_lines")
    return loaded, rejected


def load_csv(con, day: date, source: str, path: Path, lines: pa.Table) -> tuple[int, int]:
    """CSV is parsed by DuckDB's reader (quotes, embedded commas); rows it cannot
    fit to the contract's columns come back from its reject store with their line
    numbers. Blank lines, which the reader skips, are quarantined from the split."""
    name = path.name
    header = lines.slice(0, 1)
    body = lines.slice(1)
    con.register("_lines", body)
    blank = con.execute(
        """insert into raw.rejected_lines
           select ?, ?, ?, line_number, 'empty line', ''
           from _lines where trim(rtrim(decode(line, 'replace'), chr(13))) = ''""",
        [day, source, name],
    ).fetchall()[0][0]
    non_blank = con.execute(
        "select count(*) from _lines where trim(rtrim(decode(line, 'replace'), chr(13))) <> ''"
    ).fetchall()[0][0]
    con.unregister("_lines")
    if non_blank == 0:
        return 0, blank
    expected_header = ",".join(TICKETING_COLUMNS)
    got_header = header.column("line")[0].as_py().decode("utf-8", "replace").strip()
    if got_header != expected_header:
        rejected = _reject_all(con, day, source, name, body, f"CSV header {got_header[:120]!r} does not match the contract") 
        return 0, rejected
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in TICKETING_COLUMNS)
    con.execute(
        f"""create or replace temp table _csv as
            select * from read_csv(?, header = true, columns = {{{columns}}},
                 store_rejects = true, rejects_scan = '_csv_scans', rejects_table = '_csv_errors',
                 auto_detect = false, quote = '"', escape = '"', delim = ',', parallel = false,
                 hive_partitioning = false)""",
        [str(path)],
    )
    loaded = con.execute(
        f"""insert into raw.{source}
            select ?, ?, null, to_json(_csv) from _csv""",
        [day, name],
    ).fetchall()[0][0]
    # One reject row per bad line (the reader may list several errors for a line).
    rejected = con.execute(
        """insert into raw.rejected_lines
           select ?, ?, ?, line, string_agg(error_type || ': ' || error_message, '; ' order by column_idx),
                  left(any_value(csv_line), ?)
           from _csv_errors group by line""",
        [day, source, name, _EXCERPT_CHARS],
    ).fetchall()[0][0]
    con.execute("drop table if exists _csv_errors; drop table if exists _csv_scans")
    return loaded, rejected + blank


def load_file(con, day: date, source: str, path: Path, folder: Path) -> FileLoad:
    problem = file_name_problem(path, folder)
    if problem:
        return FileLoad(path.name, "rejected", problem, 0, 0, 0)
    data = path.read_bytes()
    lines = split_lines(data)
    total = len(lines)
    fmt = SOURCES[source]
    if fmt == "csv" and path.suffix != ".csv" or fmt == "jsonl" and path.suffix != ".jsonl":
        rejected = _reject_all(con, day, source, path.name, lines, f"{path.suffix} file in a {fmt} source")
        return FileLoad(path.name, "loaded", None, total, 0, rejected)
    if fmt == "jsonl":
        loaded, rejected = load_jsonl(con, day, source, path.name, lines)
    else:
        total = max(total - 1, 0)  # the header row is not a record
        loaded, rejected = load_csv(con, day, source, path, lines) if len(lines) else (0, 0)
    return FileLoad(path.name, "loaded", None, total, loaded, rejected)


def load_partition(con: duckdb.DuckDBPyConnection, landing: Path, source: str, day: date) -> list[FileLoad]:
    """Replace one (source, day) in raw with what the landing folder holds now."""
    folder = partition_dir(landing, source, day)
    files = [p for p in list_partition_files(landing, source, day) if not is_in_flight(p.name)]
    con.execute("begin transaction")
    try:
        for table in (f"raw.{source}", "raw.rejected_lines", "raw.landing_files"):
            where = "partition_date = ?" + ("" if table == f"raw.{source}" else " and source = ?")
            con.execute(f"delete from {table} where {where}", [day] if table == f"raw.{source}" else [day, source])
        results = [load_file(con, day, source, path, folder) for path in files]
        for r, path in zip(results, files):
            con.execute(
                "insert into raw.landing_files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [day, source, r.source_file, r.status, r.reason,
                 path.lstat().st_size, r.lines_total, r.lines_loaded, r.lines_rejected],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    for source in SOURCES:
        con.execute(source_table_ddl(source))
