"""Streaming reads of CSV and JSONL files (optionally gzipped), one row at a time, with every row that
cannot be read returned as ``Rejected`` with its line number instead of being dropped."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from moderation.errors import InputError  # noqa: F401  (re-exported: plugins import it from here too)

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long comments are data, not an error


GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Row:
    line: int
    values: dict[str, Any]
    raw: str


@dataclass
class Rejected:
    line: int
    reason: str
    raw: str


@dataclass
class Table:
    path: Path
    format: str
    header: list[str]
    rows: Iterator[Row | Rejected]


def table_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    suffix = suffixes[-2] if suffixes[-1:] == [".gz"] and len(suffixes) > 1 else path.suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise InputError(f"{path}: unknown file type {suffix!r}; use .csv or .jsonl (optionally .gz)") from None


def _open_text(path: Path, encoding: str) -> IO[str]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    return opener(path, "rt", encoding=encoding, errors="surrogateescape", newline="")


def _undecodable(values: str | list[str], encoding: str) -> str | None:
    """Bytes the encoding could not decode survive as lone surrogates, which UTF-8 refuses to encode."""
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        return f"not valid {encoding} (pass the file's encoding, e.g. --encoding latin-1)"
    return None


def _csv_line(fields: list[str]) -> str:
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(fields)
    return line.getvalue()


def _csv_rows(path: Path, header: list[str], encoding: str) -> Iterator[Row | Rejected]:
    # Opens the file itself, at the first row asked for: a table whose rows are never read holds no file.
    with _open_text(path, encoding) as fh:
        reader = csv.reader(fh)
        next(reader)  # the header, read and checked by open_table
        start = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Rejected(start, f"unreadable CSV: {exc}", "")
                start = reader.line_num + 1
                continue
            raw = _csv_line(fields)
            if len(fields) != len(header):
                yield Rejected(start, f"expected {len(header)} fields, found {len(fields)}", raw)
            elif reason := _undecodable(fields, encoding):
                yield Rejected(start, reason, raw)
            else:
                yield Row(start, dict(zip(header, fields, strict=True)), raw)
            start = reader.line_num + 1


def _jsonl_rows(path: Path, required: Sequence[str], encoding: str) -> Iterator[Row | Rejected]:
    with _open_text(path, encoding) as fh:
        for number, line in enumerate(fh, start=1):
            raw = line.rstrip("\r\n")
            if not raw.strip():
                continue
            if reason := _undecodable(raw, encoding):
                yield Rejected(number, reason, raw)
                continue
            try:
                values = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield Rejected(number, f"invalid JSON: {exc.msg} at column {exc.colno}", raw)
                continue
            missing = [c for c in required if not isinstance(values, dict) or c not in values]
            if not isinstance(values, dict):
                yield Rejected(number, "line is not a JSON object", raw)
            elif missing:
                yield Rejected(number, f"no {missing[0]!r} field (use --text-column)", raw)
            elif not _storable(values):
                yield Rejected(number, "a field name or value holds a lone surrogate escape (such as \\ud800), "
                                       "which no UTF-8 output can hold", raw)
            else:
                yield Row(number, values, raw)


def _storable(values: dict) -> bool:
    """JSON escapes can spell lone surrogates anywhere, in names as well as values; UTF-8 refuses them."""
    try:
        json.dumps(values, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def open_table(path: Path, encoding: str = "utf-8", required: Sequence[str] = ()) -> Table:
    """Open a CSV or JSONL file for streaming; CSV files must have a header with the ``required`` columns."""
    path = Path(path)
    fmt = table_format(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"--encoding {encoding!r} is not an encoding Python knows; use e.g. utf-8 or latin-1"
                         ) from None
    if path.suffix.lower() == ".gz":
        with path.open("rb") as fh:
            if fh.read(2) != GZIP_MAGIC:
                raise InputError(f"{path} ends in .gz but is not gzip-compressed; rename it or compress it")
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a byte-order mark is not part of the first column's name
    if fmt == "jsonl":
        return Table(path, fmt, [], _jsonl_rows(path, required, encoding))
    with _open_text(path, encoding) as fh:
        header = next(csv.reader(fh), None)
    if header is None:
        raise InputError(f"{path} is empty: a CSV needs a header row")
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{path} has no column {missing[0]!r} (columns: {', '.join(header)}); "
                         "name the right one with --text-column")
    return Table(path, fmt, header, _csv_rows(path, header, encoding))
