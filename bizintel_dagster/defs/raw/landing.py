"""Load one landing-zone day of one source into the warehouse's ``raw`` schema.

Every physical line of every file ends up in exactly one place: a row of
``raw.<source>`` (parsed JSON or CSV record), or a row of ``raw.rejected_lines``
with its file, line number and reason. ``raw.landing_files`` records each file
with its line counts, which is what conservation checks compare against. A file
rejected as a whole (unsafe name, wrong format, in a sub-folder) still has its
lines counted and every one of them in ``raw.rejected_lines``; only what cannot
be read without following a link out of the folder is recorded with 0 lines.

A day is replaced as a whole inside one transaction, so re-loading never
duplicates and a crash leaves the previous load intact.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import os
import re
import stat
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bizintel_dagster.tables import Table, col

SOURCES: dict[str, str] = {
    "app_events": "jsonl",
    "location_reports": "jsonl",
    "ticketing": "csv",
    "billing": "jsonl",
}

# File-name endings accepted per format, compared case-insensitively; a ``.gz``
# after them is allowed (compression itself is detected from the content).
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {"jsonl": (".jsonl", ".ndjson"), "csv": (".csv",)}

# Column contract of the ticketing export (docs/raw_contract.md): rows with
# another number of fields are rejected rather than shifted into wrong columns.
TICKETING_COLUMNS = [
    "ticket_id", "attendee_id", "attendee_name", "attendee_email", "attendee_phone",
    "venue_id", "event_date", "ticket_type", "checked_in", "checked_in_at",
]

# Status of a raw.landing_files row. Only "loaded" files follow the contract;
# raw/checks.py warns about the others.
LOADED, REJECTED, SKIPPED = "loaded", "rejected", "skipped"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_DAY_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_EXCERPT_CHARS = 300
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"

_DAY = col("partition_date", "date", "The partition: business-local day of the dt= folder the file landed in.")
_FILE = col("source_file", "varchar", "File path relative to its dt= folder.")

LANDING_FILES = Table("raw", "landing_files", (
    _DAY,
    col("source", "varchar", "Source: app_events, location_reports, ticketing or billing."),
    _FILE,
    col("status", "varchar", "loaded | rejected (whole file refused) | skipped (not a data file)."),
    col("reason", "varchar", "Why rejected or skipped (null when loaded)."),
    col("size_bytes", "bigint", "File size in bytes."),
    col("lines_total", "bigint", "Physical lines in the file (CSV header excluded)."),
    col("lines_loaded", "bigint", "Lines loaded into raw.<source>."),
    col("lines_rejected", "bigint", "Lines in raw.rejected_lines (lines_total = loaded + rejected)."),
))
REJECTED_LINES = Table("raw", "rejected_lines", (
    _DAY,
    col("source", "varchar", "Source of the file."),
    _FILE,
    col("line_number", "bigint", "1-based physical line number in the file."),
    col("reason", "varchar", "Why the line could not be parsed (invalid UTF-8, not JSON, CSV shape, ...)."),
    col("line_excerpt", "varchar", f"The line's first {_EXCERPT_CHARS} characters (may hold clear PII: raw is never published)."),
))


def source_table(source: str) -> Table:
    return Table("raw", source, (
        _DAY, _FILE,
        col("line_number", "bigint", "1-based physical line number of the record in its file."),
        col("payload", "json", "The record as landed: the JSON line, or the CSV row as a JSON object of its "
            "columns (clear PII; raw is never published)."),
    ))


def raw_tables() -> dict[str, Table]:
    """Every raw table by name: one per source, then the line accounting."""
    return {**{s: source_table(s) for s in SOURCES}, "landing_files": LANDING_FILES,
            "rejected_lines": REJECTED_LINES}


@dataclass(frozen=True)
class FileLoad:
    source_file: str  # path relative to the dt= folder
    status: str  # loaded | rejected | skipped
    reason: str | None
    lines_total: int
    lines_loaded: int
    lines_rejected: int
    size_bytes: int = 0


def is_in_flight(name: str) -> bool:
    """A writer's temporary file: skipped now, loaded once it is renamed."""
    return name.startswith(".") or name.endswith((".tmp", ".part"))


def file_name_problem(path: Path, partition_dir: Path) -> str | None:
    """Why a landing file must not be read at all (it would mean following a link
    or reading something that is not a regular file), or None."""
    if path.is_symlink():
        return "symbolic link: not followed (links are not accepted in the landing zone)"
    try:
        path.resolve().relative_to(partition_dir.resolve())
    except ValueError:
        return "path leaves the landing partition folder"
    if not stat.S_ISREG(path.lstat().st_mode):
        return "not a regular file"
    return None


def content_problem(rel: str, source: str) -> str | None:
    """Why a readable file's lines are all rejected, or None when it is loaded."""
    if "/" in rel:
        return "file in a sub-folder of the dt= folder (only files directly in it are loaded)"
    name = rel
    if not _SAFE_NAME.match(name) or not name.isascii():
        return f"file name {name!r} does not match the landing contract (ASCII letters, digits, '_', '.', '-')"
    fmt = SOURCES[source]
    bare = name.lower().removesuffix(".gz")
    if not bare.endswith(FORMAT_SUFFIXES[fmt]):
        return f"{Path(bare).suffix or 'extension-less'} file in a {fmt} source (expected {', '.join(FORMAT_SUFFIXES[fmt])})"
    return None


def partition_dir(landing: Path, source: str, day: date) -> Path:
    return landing / source / f"dt={day.isoformat()}"


def day_of_folder(name: str) -> date | None:
    """The day of a ``dt=YYYY-MM-DD`` folder name with a real date, else None (the
    loader reads only these folders; the scan reports the others)."""
    match = _DAY_FOLDER.match(name)
    if not match or not _is_date(match.group(1)):
        return None
    return date.fromisoformat(match.group(1))


def partition_entries(landing: Path, source: str, day: date) -> list[Path]:
    """Every path ``load_partition`` accounts for in one (source, day), in order:
    the one list the loader reads and the landing sensor fingerprints, so a change
    anywhere the loader looks (a file in a sub-folder included) requests a reload.
    A dt= folder that is a symbolic link is its own single entry (recorded as
    rejected, never followed)."""
    folder = partition_dir(landing, source, day)
    if folder.is_symlink():
        return [folder]
    return list_partition_files(landing, source, day)


def list_partition_files(landing: Path, source: str, day: date) -> list[Path]:
    """Every entry of the dt= folder that could hold data, sub-folders included;
    symbolic links (to files or folders) are listed, never descended."""
    folder = partition_dir(landing, source, day)
    if folder.is_symlink() or not folder.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        found += [here / n for n in dirnames if (here / n).is_symlink()]
        found += [here / n for n in filenames]
    return sorted(found)


def unpartitioned_paths(landing: Path) -> list[tuple[str, str]]:
    """Paths of the landing zone that belong to no (source, day): a misspelled
    source folder, a file directly under a source or the root, a folder that is
    not ``dt=YYYY-MM-DD``. They have no partition to be accounted in, so the
    landing-files check lists them in every run until they are moved.
    Root entries starting with ``_`` or ``.`` are tool metadata (the demo
    generator's summary) and are not reported."""
    if not landing.is_dir():
        return []
    found: list[tuple[str, str]] = []

    def folder(path: Path, why: str) -> None:
        if path.is_symlink():
            found.append((path.relative_to(landing).as_posix(), f"{why}; symbolic link, not followed"))
            return
        n = sum(len(files) for _, _, files in os.walk(path, followlinks=False))
        found.append((path.relative_to(landing).as_posix() + "/", f"{why} ({n} file(s) not loaded)"))

    for entry in sorted(landing.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.name not in SOURCES or not entry.is_dir() or entry.is_symlink():
            if entry.is_dir() or entry.is_symlink():
                close = difflib.get_close_matches(entry.name, SOURCES, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                folder(entry, f"unknown source folder (sources: {', '.join(SOURCES)}){hint}")
            else:
                found.append((entry.name, "file at the landing root, outside any source folder"))
            continue
        for sub in sorted(entry.iterdir()):
            if is_in_flight(sub.name):
                continue
            if sub.is_dir() and not sub.is_symlink() and day_of_folder(sub.name):
                continue
            if sub.is_dir() or sub.is_symlink():
                folder(sub, "folder is not dt=YYYY-MM-DD with a real date")
            else:
                found.append((sub.relative_to(landing).as_posix(), "file directly under the source folder, not in a dt=YYYY-MM-DD folder"))
    return found


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def decode_container(data: bytes) -> tuple[bytes, str | None]:
    """The file's text bytes: gzip is detected by its magic number (whatever the
    name says) and decompressed; a UTF-8 byte-order mark is dropped; classic-Mac
    files (CR line ends, no LF anywhere) get LF line ends. Returns (bytes, problem)."""
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            return data, f"gzip data could not be decompressed ({exc})"
    data = data.removeprefix(_BOM)
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")
    return data, None


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
    try:
        con.execute(
            """insert into raw.rejected_lines
               select ?, ?, ?, line_number, ?, left(decode(line, 'replace'), ?) from _lines""",
            [day, source, name, reason, _EXCERPT_CHARS],
        )
    finally:
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


def csv_header(lines: pa.Table) -> list[str]:
    text = lines.column("line")[0].as_py().decode("utf-8", "replace").rstrip("\r")
    return next(csv.reader([text]), [])


def csv_header_problem(header: list[str]) -> str | None:
    """The header must name exactly the contract's columns, in any order."""
    names = [h.strip().lower() for h in header]
    if sorted(names) == sorted(TICKETING_COLUMNS):
        return None
    missing = [c for c in TICKETING_COLUMNS if c not in names]
    unexpected = [n for n in names if n not in TICKETING_COLUMNS]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if len(missing) == len(TICKETING_COLUMNS):
        return "CSV header row missing: the first line names none of the contract's columns (a data row?)"
    parts = [f"missing {missing}" if missing else "", f"unexpected {unexpected}" if unexpected else "",
             f"duplicated {duplicated}" if duplicated else ""]
    return "CSV header does not match the contract: " + ", ".join(p for p in parts if p)


# One CSV field after a separating comma (the record gets a leading comma): a
# quoted field with "" escapes, or an unquoted one that does not start with a
# quote (a formula like =HYPERLINK("x") is data), or an empty one.
_CSV_FIELD = ',("(?:[^"]|"")*"|[^,"][^,]*|)'


def load_csv(con, day: date, source: str, name: str, lines: pa.Table) -> tuple[int, int, int]:
    """RFC 4180 CSV in set-based SQL over the physical lines, so every record keeps
    its line number (DuckDB's read_csv gives none for loaded rows and silently
    drops the rows after an unterminated quote). A record spans physical lines
    while a quote is open (quote parity); a quote still open at the end of the
    file quarantines the line that opened it alone and the lines after it are
    records again. The header, validated by load_file, maps fields to the
    contract's columns by name. Returns (records, loaded, rejected): for CSV,
    conservation counts records, each attributed to its first physical line (a
    record with a quoted newline spans the next lines too)."""
    if len(lines) == 0:
        return 0, 0, 0
    header = csv_header(lines)
    position = {h.strip().lower(): i + 1 for i, h in enumerate(header)}
    n = len(TICKETING_COLUMNS)
    payload = ", ".join(f"'{c}', fields[{position[c]}]" for c in TICKETING_COLUMNS)
    con.register("_lines", lines.slice(1))
    try:
        con.execute(
            """create or replace temp table _records as
               with body as (
                   select line_number, try(decode(line)) is null as bad_bytes,
                          rtrim(decode(line, 'replace'), chr(13)) as text
                   from _lines),
               parity as (
                   select *, (length(text) - length(replace(text, '"', ''))) % 2 = 1 as odd from body),
               ranked as (
                   select *, odd and sum(odd::int) over (order by line_number) = sum(odd::int) over ()
                             and sum(odd::int) over () % 2 = 1 as unterminated
                   from parity),
               opened as (
                   select *, coalesce(sum((odd and not unterminated)::int) over (
                                 order by line_number rows between unbounded preceding and 1 preceding), 0) % 2 = 1
                             as inside_quote
                   from ranked),
               grouped as (
                   select *, max(line_number) filter (where not inside_quote) over (order by line_number) as first_line
                   from opened)
               select first_line as line_number, max(line_number) as last_line,
                      string_agg(text, chr(10) order by line_number) as record,
                      bool_or(bad_bytes) as bad_bytes, bool_or(unterminated) as unterminated
               from grouped group by first_line"""
        )
        con.execute(
            f"""create or replace temp table _csv as
                select line_number, last_line, record, fields,
                       case
                         when bad_bytes then 'INVALID ENCODING: the record is not valid UTF-8'
                         when trim(record) = '' then 'empty line'
                         when unterminated then 'UNTERMINATED QUOTE: a quoted field opened on this line is never closed'
                         when list_sum(list_transform(raw_fields, lambda f: length(f) + 1)) <> length(record) + 1
                           then 'MALFORMED QUOTING: text after a closing quote'
                         when len(raw_fields) < {n} then 'MISSING COLUMNS: expected {n} fields, found ' || len(raw_fields)
                         when len(raw_fields) > {n} then 'TOO MANY COLUMNS: expected {n} fields, found ' || len(raw_fields)
                       end
                       || case when last_line > line_number
                               then ' (record spans lines ' || line_number || '-' || last_line || ')' else '' end
                       as reason
                from (select *, list_transform(raw_fields, lambda f: case when f = '' then null
                                    when starts_with(f, '"') then replace(f[2:-2], '""', '"') else f end) as fields
                      from (select *, regexp_extract_all(',' || record, '{_CSV_FIELD}', 1) as raw_fields
                            from _records))"""
        )
        loaded = con.execute(
            f"insert into raw.{source} select ?, ?, line_number, json_object({payload}) from _csv where reason is null",
            [day, name],
        ).fetchall()[0][0]
        rejected = con.execute(
            """insert into raw.rejected_lines
               select ?, ?, ?, line_number, reason, left(record, ?) from _csv where reason is not null""",
            [day, source, name, _EXCERPT_CHARS],
        ).fetchall()[0][0]
    finally:
        con.unregister("_lines")
    return loaded + rejected, loaded, rejected


def load_file(con, day: date, source: str, path: Path, folder: Path) -> FileLoad:
    rel = path.relative_to(folder).as_posix()
    size = path.lstat().st_size
    if is_in_flight(path.name):
        return FileLoad(rel, SKIPPED, "in-flight temporary name (leading '.', .tmp or .part): loaded once renamed",
                        0, 0, 0, size)
    problem = file_name_problem(path, folder)
    if problem:
        return FileLoad(rel, REJECTED, problem, 0, 0, 0, size)
    data, problem = decode_container(path.read_bytes())
    lines = split_lines(data)
    problem = problem or content_problem(rel, source)
    if not problem and SOURCES[source] == "csv" and len(lines):
        problem = csv_header_problem(csv_header(lines))  # without it no line can be mapped to columns
    if problem:
        rejected = _reject_all(con, day, source, rel, lines, problem)
        return FileLoad(rel, REJECTED, problem, rejected, 0, rejected, size)
    if SOURCES[source] == "jsonl":
        loaded, rejected = load_jsonl(con, day, source, rel, lines)
        total = len(lines)
    else:
        total, loaded, rejected = load_csv(con, day, source, rel, lines)
    return FileLoad(rel, LOADED, None, total, loaded, rejected, size)


def load_partition(con: duckdb.DuckDBPyConnection, landing: Path, source: str, day: date) -> list[FileLoad]:
    """Replace one (source, day) in raw with what the landing folder holds now."""
    folder = partition_dir(landing, source, day)
    con.execute("begin transaction")
    try:
        for table in (f"raw.{source}", "raw.rejected_lines", "raw.landing_files"):
            where = "partition_date = ?" + ("" if table == f"raw.{source}" else " and source = ?")
            con.execute(f"delete from {table} where {where}", [day] if table == f"raw.{source}" else [day, source])
        results = [
            FileLoad(".", REJECTED, "the dt= folder is a symbolic link: not followed", 0, 0, 0)
            if path == folder else load_file(con, day, source, path, folder)
            for path in partition_entries(landing, source, day)
        ]
        for r in results:
            con.execute(
                "insert into raw.landing_files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [day, source, r.source_file, r.status, r.reason,
                 r.size_bytes, r.lines_total, r.lines_loaded, r.lines_rejected],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in raw_tables().values():
        con.execute(table.ddl())
