"""Scoring comments: one text, a batch, or a whole CSV/JSONL file, with every bad row accounted for."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from moderation.policy import Policy
from moderation.protocols import Scorer

MAX_TEXT_CHARS = 100_000
OUTPUT_COLUMNS = ("score", "decision")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class InputError(ValueError):
    """The input cannot be scored as given; the message says what is wrong and how to fix it."""


def check_text(text: Any, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Return ``text`` if it can be scored, else raise ``InputError`` saying why."""
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise InputError("text is empty; give a comment to score")
    if len(text) > max_chars:
        raise InputError(f"text is {len(text):,} characters, over the limit of {max_chars:,}; split it")
    return text


def check_scores(scores: Any, n: int, who: str) -> np.ndarray:
    """Validate a scorer's output: ``n`` finite probabilities in [0, 1]."""
    arr = np.asarray(scores, dtype=float).reshape(-1)
    if arr.shape != (n,):
        raise ValueError(f"{who} returned {arr.size} scores for {n} texts")
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        raise ValueError(
            f"{who} returned {int(bad.sum())} invalid scores (NaN, infinite or outside [0, 1]), "
            f"first at position {int(np.argmax(bad))}: {arr[bad][0]!r}"
        )
    return arr


def score_texts(scorer: Scorer, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Score texts in batches, checking what the scorer returns."""
    parts = [
        check_scores(scorer.score(texts[i : i + batch_size]), len(texts[i : i + batch_size]), scorer.name)
        for i in range(0, len(texts), batch_size)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


@dataclass
class Rejected:
    line: int
    reason: str
    raw: str


@dataclass
class FileReport:
    output: Path
    scored: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    rejects_path: Path | None = None


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    raw: str


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputError(f"{path}: unknown file type {path.suffix!r}; use .csv or .jsonl") from None


def _bad_text(value: Any) -> str | None:
    try:
        check_text(value)
    except InputError as exc:
        return str(exc)
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return "text is not valid in the file's encoding (pass --encoding, e.g. --encoding latin-1)"
    return None


def _read_csv(path: Path, text_column: str, encoding: str) -> tuple[list[str], Iterator[_Row | Rejected]]:
    fh = path.open(encoding=encoding, errors="surrogateescape", newline="")
    reader = csv.reader(fh)
    header = next(reader, None)
    if header is None:
        fh.close()
        raise InputError(f"{path} is empty: a CSV needs a header row with a {text_column!r} column")
    if text_column not in header:
        fh.close()
        raise InputError(f"{path} has no column {text_column!r} (columns: {', '.join(header)}); use --text-column")
    taken = [c for c in OUTPUT_COLUMNS if c in header]
    if taken:
        fh.close()
        raise InputError(f"{path} already has column(s) {', '.join(taken)}; rename them before scoring")

    def rows() -> Iterator[_Row | Rejected]:
        with fh:
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
                else:
                    values = dict(zip(header, fields, strict=True))
                    reason = _bad_text(values[text_column])
                    yield Rejected(start, reason, raw) if reason else _Row(start, values, raw)
                start = reader.line_num + 1

    return header, rows()


def _csv_line(fields: list[str]) -> str:
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(fields)
    return line.getvalue()


def _read_jsonl(path: Path, text_column: str, encoding: str) -> tuple[list[str], Iterator[_Row | Rejected]]:
    def rows() -> Iterator[_Row | Rejected]:
        with path.open("rb") as fh:
            for number, data in enumerate(fh, start=1):
                if not data.strip():
                    continue
                raw = data.decode(encoding, errors="surrogateescape").rstrip("\r\n")
                try:
                    values = json.loads(data.decode(encoding))
                except UnicodeDecodeError:
                    yield Rejected(number, f"not valid {encoding} (pass --encoding)", raw)
                    continue
                except json.JSONDecodeError as exc:
                    yield Rejected(number, f"invalid JSON: {exc.msg} at column {exc.colno}", raw)
                    continue
                if not isinstance(values, dict):
                    yield Rejected(number, "line is not a JSON object", raw)
                elif text_column not in values:
                    yield Rejected(number, f"no {text_column!r} field (use --text-column)", raw)
                elif taken := [c for c in OUTPUT_COLUMNS if c in values]:
                    yield Rejected(number, f"already has field(s) {', '.join(taken)}", raw)
                else:
                    reason = _bad_text(values[text_column])
                    yield Rejected(number, reason, raw) if reason else _Row(number, values, raw)

    return [], rows()


class _Writer:
    """Writes scored rows in the input's format to a temp file, moved into place when complete."""

    def __init__(self, path: Path, fmt: str, header: list[str], encoding: str) -> None:
        self.path, self.fmt = path, fmt
        self.tmp = path.with_name(f".{path.name}.partial")
        self.fh = self.tmp.open("w", encoding=encoding, errors="surrogateescape", newline="")
        if fmt == "csv":
            self.csv = csv.writer(self.fh)
            self.csv.writerow([*header, *OUTPUT_COLUMNS])

    def write(self, row: _Row, score: float, decision: str) -> None:
        if self.fmt == "csv":
            self.csv.writerow([*row.values.values(), f"{score:.6f}", decision])
        else:
            record = {**row.values, "score": round(score, 6), "decision": decision}
            self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


def _write_rejects(path: Path, rejected: list[Rejected]) -> None:
    with path.open("w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "reason", "raw"])
        writer.writerows([r.line, r.reason, r.raw] for r in rejected)


def score_file(
    scorer: Scorer,
    input_path: Path,
    output_path: Path,
    *,
    text_column: str = "text",
    policy: Policy | None = None,
    batch_size: int = 256,
    encoding: str = "utf-8",
) -> FileReport:
    """Score every row of a CSV or JSONL file into ``output_path`` (same format, every column kept,
    ``score`` and ``decision`` added). Rows that cannot be scored go, with their line numbers and
    reasons, to ``<output>.rejected.csv``."""
    policy = policy or Policy()
    fmt = file_format(input_path)
    if file_format(output_path) != fmt:
        raise InputError(f"--out must have the input's format ({fmt}): got {output_path.name}")
    if not input_path.is_file():
        raise InputError(f"input file {input_path} does not exist")
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    reader = _read_csv if fmt == "csv" else _read_jsonl
    header, rows = reader(input_path, text_column, enc)
    report = FileReport(output=output_path)
    writer = _Writer(output_path, fmt, header, "utf-8")
    batch: list[_Row] = []

    def flush() -> None:
        scores = score_texts(scorer, [r.values[text_column] for r in batch], batch_size)
        for row, score in zip(batch, scores, strict=True):
            writer.write(row, float(score), policy.decide(float(score)))
        report.scored += len(batch)
        batch.clear()

    try:
        for item in tqdm(rows, desc=f"scoring {input_path.name}", unit=" rows", disable=None):
            if isinstance(item, Rejected):
                report.rejected.append(item)
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    if report.rejected:
        report.rejects_path = output_path.with_name(output_path.name + ".rejected.csv")
        _write_rejects(report.rejects_path, report.rejected)
    return report
