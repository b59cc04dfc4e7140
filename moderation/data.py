"""The data layer: loading data sets through their plugins into canonical records, with deterministic
splits, held-out identity slices that can never reach training, and an account of every bad row."""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moderation.identities import LEXICON_VERSION, groups_of, match_terms
from moderation.plugins import get_registry
from moderation.protocols import Dataset, Record, optional
from moderation.splits import SPLIT_PLAN_VERSION, assign_split, hash_point, split_key, text_hash
from moderation.tables import InputError, Rejected, Row, open_table

# The names plugins and scripts may rely on; anything else here may change without notice.
__all__ = ["DATA_DIR_ENV", "DataError", "HeldOutError", "SplitPlan", "FileDataset", "LoadedData", "make_record",
           "content_id", "get_dataset", "load", "load_records"]

DATA_DIR_ENV = "MODERATION_DATA_DIR"
HELD_OUT = "audit"
UNLABELED = "unlabeled"
TRAINING_PURPOSES = ("train", "label", "distill")
MAX_EXAMPLES = 20


class DataError(InputError):
    """A data set is missing, or cannot be used the way it was asked for."""


class HeldOutError(DataError, PermissionError):
    """Held-out audit rows were about to reach training, labeling or distillation."""


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """``--data-dir`` if given, else ``$MODERATION_DATA_DIR``, else ``<data home>/data``."""
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    from moderation.defaults import data_home

    return data_home() / "data"


FRACTIONS = {"train": 0.6, "validation": 0.1, "test": 0.2, UNLABELED: 0.1}
AUDIT_FRACTION = 0.5


@dataclass(frozen=True)
class SplitPlan:
    """How a data set's rows are divided. The fractions and the audit hold-out are the same for every
    data set on purpose: a text lands in the same split wherever it appears (the demo data samples the
    shared sets, and pooled sets mix them), so no held-out or test row can enter training by another
    data set. A row's key is its ``group`` (a forum post, an augmented copy's original) when it has one,
    else its ``split_key``; rows with one key share a split. Rows that mention an identity are held out
    for audits with probability ``AUDIT_FRACTION`` (by key), and a group with one held-out row is held
    out whole. ``audit_only`` sets (templates) hold out every row. ``assign`` lets a set of generated
    rows place whole templates itself (its texts exist nowhere else, so the shared plan has nothing to
    protect there): it returns the split of a record, ``audit`` for the held-out test part."""

    audit_only: bool = False
    assign: Callable[[Record], str] | None = None

    def fractions(self) -> dict[str, float]:
        return dict(FRACTIONS)


def make_record(id: str, text: str, toxicity: float, *, identities: Iterable[str] = (), source: str = "",
                terms: Iterable[str] = (), group: str = "") -> Record:
    """A validated record; raises ``ValueError`` (reported against the row) for unusable values."""
    toxicity = float(toxicity)
    if not math.isfinite(toxicity) or not 0.0 <= toxicity <= 1.0:
        raise ValueError(f"toxicity {toxicity!r} is not a probability in [0, 1]")
    return Record(id=str(id), text=text, toxicity=toxicity, label=int(toxicity >= 0.5),
                  identities=tuple(identities), source=source, terms=tuple(terms), group=group)


def content_id(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


class FileDataset:
    """Base for data sets read from CSV/JSONL files under the data directory (or absolute paths).

    Subclasses set ``name``, ``license``, ``files``, ``where`` (how to get the files), optionally
    ``required`` columns and ``split_plan``, and define ``to_record(row: Row) -> Record``.
    """

    name: str
    license: str
    files: tuple[str, ...] = ()
    where: str = ""
    required: tuple[str, ...] = ()
    encoding: str = "utf-8"
    split_plan = SplitPlan()

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)

    def paths(self) -> list[Path]:
        return [self.data_dir / f for f in self.files]

    def present(self) -> bool:
        return all(p.is_file() for p in self.paths())

    def records(self) -> Iterator[Record | Rejected]:
        for path in self.paths():
            if not path.is_file():
                raise DataError(
                    f"data set {self.name!r}: {path} not found. {self.where} Then point --data-dir "
                    f"(or ${DATA_DIR_ENV}) at the folder that holds it (now: {self.data_dir})."
                )
            for row in open_table(path, self.encoding, self.required).rows:
                if isinstance(row, Rejected):
                    yield Rejected(row.line, f"{path.name}: {row.reason}", row.raw)
                    continue
                try:
                    yield self.to_record(row)
                except (ValueError, KeyError, TypeError) as exc:
                    yield Rejected(row.line, f"{path.name}: {type(exc).__name__}: {exc}", row.raw)

    def to_record(self, row: Row) -> Record:  # pragma: no cover - every subclass defines it
        raise TypeError(f"{type(self).__name__} must define to_record(row)")


@dataclass
class DataReport:
    """What loading found: rows read and kept, and every kind of problem, counted, with examples."""

    rows_read: int = 0
    kept: int = 0
    malformed: int = 0
    bad_encoding: int = 0
    empty_texts: int = 0
    duplicate_ids: int = 0
    duplicate_texts: int = 0
    dropped_by_limit: int = 0
    examples: list[dict[str, str]] = field(default_factory=list)

    def problem(self, kind: str, where: str, reason: str, raw: str = "") -> None:
        """Count a problem; keep the first few as examples (``where``: "line 12" or "row 7 (id x)")."""
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"kind": kind, "where": where, "reason": reason, "raw": raw[:200]})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class LoadedData:
    """A loaded data set: records with their splits, and the loading report."""

    name: str
    records: list[Record]
    report: DataReport
    plan: SplitPlan
    lexicon_version: str = LEXICON_VERSION
    split_plan_version: str = SPLIT_PLAN_VERSION

    def split(self, split: str, purpose: str = "evaluate") -> list[Record]:
        """The records of one split. Held-out audit rows are refused to training purposes."""
        if split == HELD_OUT and purpose in TRAINING_PURPOSES:
            raise HeldOutError(f"the {HELD_OUT!r} split of {self.name!r} is held out for audits; "
                               f"it cannot be used to {purpose}")
        return [r for r in self.records if r.split == split]

    def provenance(self) -> dict[str, str]:
        """What a model trained on this data records in its lineage: the data, lexicon and split plan."""
        return {"data": self.name, "lexicon": self.lexicon_version, "split_plan": self.split_plan_version}

    def split_counts(self) -> dict[str, int]:
        return dict(Counter(r.split for r in self.records))


def require_trainable(records: Sequence[Record], purpose: str) -> None:
    """Refuse held-out rows for training, labeling or distillation, whichever path they came by."""
    held = sum(r.split == HELD_OUT for r in records)
    if held:
        raise HeldOutError(f"{held} of the rows given to {purpose} belong to the held-out {HELD_OUT!r} split; "
                           "audit slices can never be trained, labeled or distilled on")


def row_key(record: Record, text_key: str | None = None) -> str:
    """What decides a row's split: its group if it has one, else its normalised text (``text_key``, its
    ``split_key`` when the caller already has it)."""
    return f"group:{record.group}" if record.group else text_key or split_key(record.text)


def _assign(record: Record, plan: SplitPlan, text_key: str) -> str:
    if plan.audit_only:
        return HELD_OUT
    if plan.assign is not None:
        return plan.assign(record)
    key = row_key(record, text_key)
    if record.identities and hash_point(key, "audit") < AUDIT_FRACTION:
        return HELD_OUT
    return assign_split(key, plan.fractions())


def _hold_out_groups(records: list[Record]) -> list[Record]:
    """A group with any held-out row is held out whole: a post's other sentences must not train a model
    audited on one of them."""
    held = {r.group for r in records if r.group and r.split == HELD_OUT}
    return [dataclasses.replace(r, split=HELD_OUT) if r.group in held and r.split != HELD_OUT else r
            for r in records]


def _hide_label(record: Record) -> Record:
    return dataclasses.replace(record, toxicity=math.nan, label=-1)


def _canonical(items: Iterable[tuple[Record | Rejected, SplitPlan]], report: DataReport) -> Iterator[Record]:
    seen_ids: Counter[str] = Counter()
    seen_texts: set[bytes] = set()
    for item, plan in items:
        report.rows_read += 1
        if isinstance(item, Rejected):
            kind = "bad_encoding" if "not valid" in item.reason else "malformed"
            report.problem(kind, f"line {item.line}", item.reason, item.raw)
            continue
        where = f"row {report.rows_read} (id {item.id})"
        if not isinstance(item.text, str) or not item.text.strip():
            report.problem("empty_texts", where, "empty text")
            continue
        text_key = split_key(item.text)
        key = hashlib.sha256(text_key.encode()).digest()  # 32 bytes a row, not the text
        if key in seen_texts:
            report.problem("duplicate_texts", where, "same text as an earlier row (once case, punctuation, RT "
                           "markers, mentions and URLs are set aside); first kept", item.text)
            continue
        seen_texts.add(key)
        seen_ids[item.id] += 1
        record_id = item.id
        if seen_ids[item.id] > 1:
            record_id = f"{item.id}~{seen_ids[item.id]}"
            report.problem("duplicate_ids", where, f"id repeated; kept as {record_id!r}")
        lexicon_terms = match_terms(item.text)
        identities = tuple(sorted(set(item.identities) | set(groups_of(lexicon_terms))))
        record = dataclasses.replace(item, id=record_id, identities=identities, terms=item.terms or lexicon_terms)
        yield dataclasses.replace(record, split=_assign(record, plan, text_key))


def get_dataset(name: str, data_dir: str | Path | None = None, **params: Any) -> Dataset:
    """A data set plugin by name; a path to a .csv/.jsonl file uses the ``user-file`` plugin."""
    if Path(name).suffix.lower() in (".csv", ".jsonl", ".gz") or os.sep in name:
        return get_registry().create("dataset", "user-file", path=Path(name), data_dir=data_dir, **params)
    return get_registry().create("dataset", name, data_dir=data_dir, **params)


def by_hash(records: list[Record], rows: int) -> list[Record]:
    """``rows`` records chosen by a hash of their content (the same ones whatever the file order), in order."""
    chosen = {id(r) for r in heapq.nsmallest(rows, records, key=lambda r: hash_point(row_key(r), "limit"))}
    return [r for r in records if id(r) in chosen]


def load(name: str, data_dir: str | Path | None = None, *, limit: int | None = None,
         labeled: int | None = None, labeled_seed: int = 0, **params: Any) -> LoadedData:
    """Load one data set, or several pooled (``"davidson,jigsaw-toxic"``), into canonical records.

    ``limit`` keeps that many rows (chosen by content hash, so the same rows whatever the file order);
    ``labeled`` keeps that many training rows labeled (which ones: by hash, reshuffled by
    ``labeled_seed``) and moves the rest of train to ``unlabeled``.
    Rows of ``unlabeled`` have their labels hidden.
    """
    names = [n.strip() for n in name.split(",") if n.strip()]
    datasets = [get_dataset(n, data_dir, **params) for n in names]
    plans = [optional(ds, "dataset", "split_plan") or SplitPlan() for ds in datasets]
    if len(datasets) > 1 and any(p.audit_only for p in plans):
        raise DataError("template (audit-only) data sets cannot be pooled with training data")
    plan = plans[0] if len(plans) == 1 else SplitPlan()
    report = DataReport()
    rows = ((r, p) for ds, p in zip(datasets, plans, strict=True) for r in ds.records())
    records = _hold_out_groups(list(_canonical(rows, report)))
    if limit is not None:
        kept = by_hash(records, limit)
        report.dropped_by_limit = len(records) - len(kept)
        records = kept
    if labeled is not None:
        salt = f"labeled{labeled_seed}"
        train = sorted((r for r in records if r.split == "train"), key=lambda r: hash_point(row_key(r), salt))
        moved = {id(r) for r in train[labeled:]}
        records = [dataclasses.replace(r, split=UNLABELED) if id(r) in moved else r for r in records]
    records = [_hide_label(r) if r.split == UNLABELED else r for r in records]
    report.kept = len(records)
    return LoadedData(",".join(names), records, report, plan)


def load_records(name: str, split: str | None = None, **params: Any) -> list[Record]:
    """All records of a data set, or those of one split (the held-out split only for audits)."""
    data = load(name, **params)
    return data.records if split is None else data.split(split)


def fingerprint(records: Iterable[Record]) -> str:
    """Order-independent hash of (text, toxicity) pairs: the identity of a training set."""
    digest = hashlib.sha256()
    for key in sorted(f"{text_hash(r.text)}:{r.toxicity:.6f}" for r in records):
        digest.update(key.encode() + b"\n")
    return digest.hexdigest()
