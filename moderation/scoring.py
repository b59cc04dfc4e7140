"""Scoring comments: one text, a batch, or a whole CSV/JSONL file, with every bad row accounted for."""

from __future__ import annotations

import csv
import json
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from moderation.deobfuscation import deobfuscate
from moderation.errors import InputError, ModelError
from moderation.policy import DECISIONS, Policy
from moderation.protocols import Scorer
from moderation.tables import Rejected, Row, open_table, table_format

# The names plugins and scripts may rely on; anything else here may change without notice.
__all__ = ["check_text", "check_scores", "check_targets", "score_texts", "FileReport", "score_file"]

MAX_TEXT_CHARS = 100_000
OUTPUT_COLUMNS = ("score", "decision")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database or UTF-8 file holds them
INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Zs", "Zl", "Zp"))  # control, format (zero-width), separators


def check_text(text: Any, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Return ``text`` if it can be scored, else raise ``InputError`` saying why."""
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise InputError("text is empty; give a comment to score")
    if len(text) > max_chars:
        raise InputError(f"text is {len(text):,} characters, over the limit of {max_chars:,}; split it")
    bad = UNSTORABLE.search(text)
    if bad:
        what = "a NUL character" if bad.group() == "\x00" else "a lone surrogate (invalid Unicode)"
        raise InputError(f"text holds {what} at position {bad.start()}; remove it or fix the text's encoding")
    if all(unicodedata.category(c) in INVISIBLE for c in text):
        raise InputError("text has no visible characters (only spaces, zero-width or control characters); "
                         "give a comment to score")
    return text


def check_scores(scores: Any, n: int, who: str) -> np.ndarray:
    """Validate a scorer's output: ``n`` finite probabilities in [0, 1]."""
    arr = np.asarray(scores, dtype=float).reshape(-1)
    if arr.shape != (n,):
        raise ModelError(f"{who} returned {arr.size} scores for {n} texts")
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        raise ModelError(
            f"{who} returned {int(bad.sum())} invalid scores (NaN, infinite or outside [0, 1]), "
            f"first at position {int(np.argmax(bad))}: {arr[bad][0]!r}"
        )
    return arr


def check_targets(texts: Sequence[str], soft_targets: Sequence[float]) -> np.ndarray:
    """Validate what a student is asked to learn: one probability in [0, 1] per text."""
    targets = np.asarray(soft_targets, dtype=np.float64)
    if len(texts) != len(targets) or not len(targets):
        raise InputError(f"need as many targets as texts and at least one: {len(texts)} vs {len(targets)}")
    if not np.all((targets >= 0) & (targets <= 1)):
        raise InputError("soft targets must be probabilities in [0, 1] (found NaN or out-of-range values)")
    return targets


def score_texts(scorer: Scorer, texts: Sequence[str], batch_size: int = 256, who: str | None = None) -> np.ndarray:
    """Score texts in batches, each deobfuscated (``moderation.deobfuscation``), checking what the scorer returns
    (an error names ``who``, by default the scorer's name)."""
    # NFKC can lengthen a text many times over (one ligature: 18 letters): never more than check_text allows
    texts = [deobfuscate(t)[:MAX_TEXT_CHARS] for t in texts]
    batches = (texts[i : i + batch_size] for i in range(0, len(texts), batch_size))
    parts = [check_scores(scorer.score(batch), len(batch), who or scorer.name) for batch in batches]
    return np.concatenate(parts) if parts else np.zeros(0)


@dataclass
class FileReport:
    output: Path
    scored: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    rejects_path: Path | None = None
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))


def _checked(row: Row | Rejected, text_column: str) -> Row | Rejected:
    """A row stays a ``Row`` only if its text can be scored and it has no column the output adds."""
    if isinstance(row, Rejected):
        return row
    taken = [c for c in OUTPUT_COLUMNS if c in row.values]
    if taken:
        return Rejected(row.line, f"already has field(s) {', '.join(taken)}; rename them before scoring", row.raw)
    try:
        check_text(row.values[text_column])
    except InputError as exc:
        return Rejected(row.line, str(exc), row.raw)
    return row


class _Writer:
    """Writes scored rows (CSV or JSONL, whatever the input was) to a temp file, moved into place when complete.

    JSONL rows written as CSV take their columns from the first row (nested values as JSON); a later row
    with fields the first lacks cannot be written and is rejected by ``fits``."""

    def __init__(self, path: Path, fmt: str, header: list[str], encoding: str) -> None:
        self.path, self.fmt, self.header = path, fmt, list(header)
        self.tmp = path.with_name(f".{path.name}.partial")
        self.fh = self.tmp.open("w", encoding=encoding, errors="surrogateescape", newline="")
        self.csv = csv.writer(self.fh) if fmt == "csv" else None
        if self.csv and self.header:
            self.csv.writerow([*self.header, *OUTPUT_COLUMNS])

    def fits(self, row: Row) -> Row | Rejected:
        if self.csv is None:
            return row
        if not self.header:  # JSONL to CSV: the first row names the columns
            self.header = list(row.values)
            self.csv.writerow([*self.header, *OUTPUT_COLUMNS])
        extra = [k for k in row.values if k not in self.header]
        if extra:
            return Rejected(row.line, f"has field(s) {', '.join(extra)} that the first row lacks, so it has no CSV "
                                      "column; write JSONL instead", row.raw)
        return row

    def write(self, row: Row, score: float, decision: str) -> None:
        if self.csv is not None:
            cells = [row.values.get(k, "") for k in self.header]
            cells = [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in cells]
            self.csv.writerow([*cells, f"{score:.6f}", decision])
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
    """Score every row of a CSV or JSONL file into ``output_path`` (CSV or JSONL by its extension: formats
    convert; every column kept, ``score`` and ``decision`` added). Rows that cannot be scored go, with their
    line numbers and reasons, to ``<output>.rejected.csv``."""
    policy = policy or Policy()
    out_format = table_format(output_path)
    if output_path.suffix.lower() == ".gz":
        raise InputError(f"--out is written uncompressed: drop the .gz from {output_path.name}")
    if not output_path.parent.is_dir():
        raise InputError(f"--out {output_path}: the folder {output_path.parent} does not exist; create it first")
    table = open_table(input_path, encoding, required=[text_column])
    if taken := [c for c in OUTPUT_COLUMNS if c in table.header]:
        raise InputError(f"{input_path} already has column(s) {', '.join(taken)}; rename them before scoring")
    report = FileReport(output=output_path)
    writer = _Writer(output_path, out_format, table.header if table.format == "csv" else [], "utf-8")
    batch: list[Row] = []

    def flush() -> None:
        scores = score_texts(scorer, [r.values[text_column] for r in batch], batch_size)
        for row, score in zip(batch, scores, strict=True):
            decision = policy.decide(float(score))
            writer.write(row, float(score), decision)
            report.decisions[decision] += 1
        report.scored += len(batch)
        batch.clear()

    try:
        for row in tqdm(table.rows, desc=f"scoring {input_path.name}", unit=" rows", disable=None):
            item = _checked(row, text_column)
            item = item if isinstance(item, Rejected) else writer.fits(item)
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
