"""The data layer on files the tests write: splits, held-out slices, caps, bad rows, streaming."""

from __future__ import annotations

import csv
import json
import math
import random
import tracemalloc
from pathlib import Path

import pytest

from moderation.data import DataError, HeldOutError, load, require_trainable
from moderation.splits import text_hash
from moderation.student_training import train_student
from moderation_plugins.user_file import UserFileDataset
from tests.conftest import invoke_cli, run_cli

TOXIC = ["you are an idiot", "shut up moron", "what a stupid take", "go away loser", "nobody likes you jerk"]
CLEAN = ["thanks for the edit", "see you at the meeting", "good point well made", "lovely photo", "nice work"]


def write_csv(path: Path, rows: list[dict], fieldnames: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def civil_rows(n: int = 400) -> list[dict]:
    rng = random.Random(0)
    rows = []
    for i in range(n):
        toxic = i % 2 == 0
        base = rng.choice(TOXIC if toxic else CLEAN)
        muslim = i % 5 == 0
        text = f"{base} {i}" + (" said the muslim neighbour" if muslim else "")
        rows.append({"id": f"c{i}", "comment_text": text, "target": 0.8 if toxic else 0.1,
                     "muslim": "1.0" if muslim else "", "female": "0.0"})
    return rows


@pytest.fixture
def civil_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "civil.csv", civil_rows())


def test_civil_comments_layout_loads_with_identity_columns(civil_csv):
    data = load(str(civil_csv))
    assert len(data.records) == 400
    muslim = [r for r in data.records if "muslim" in r.identities]
    assert len(muslim) == 80 and all("female" not in r.identities for r in data.records)
    assert {r.split for r in muslim} <= {"audit", "train", "validation", "test", "unlabeled"}
    assert sum(r.split == "audit" for r in muslim) > 20  # about half held out


def test_no_text_overlaps_between_splits(civil_csv):
    data = load(str(civil_csv))
    by_split: dict[str, set[str]] = {}
    for r in data.records:
        by_split.setdefault(r.split, set()).add(text_hash(r.text))
    splits = list(by_split)
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            assert not by_split[a] & by_split[b], f"{a} and {b} share texts"


def test_splits_and_limit_do_not_depend_on_row_order(civil_csv, tmp_path):
    rows = civil_rows()
    random.Random(3).shuffle(rows)
    shuffled = write_csv(tmp_path / "shuffled.csv", rows)
    first, second = load(str(civil_csv)), load(str(shuffled))
    assert {r.id: r.split for r in first.records} == {r.id: r.split for r in second.records}
    a, b = load(str(civil_csv), limit=50), load(str(shuffled), limit=50)
    assert {r.id for r in a.records} == {r.id for r in b.records} and len(a.records) == 50
    assert a.report.dropped_by_limit == 350


def test_labeled_keeps_n_training_rows_and_hides_the_rest(civil_csv):
    full = load(str(civil_csv))
    scarce = load(str(civil_csv), labeled=30)
    assert len(scarce.split("train", "train")) == 30
    moved = len(full.split("train")) - 30
    assert len(scarce.split("unlabeled")) == len(full.split("unlabeled")) + moved
    assert all(math.isnan(r.toxicity) and r.label == -1 for r in scarce.split("unlabeled"))
    assert scarce.split("test") == full.split("test")


def test_held_out_rows_are_refused_to_training(civil_csv, tmp_path):
    data = load(str(civil_csv))
    with pytest.raises(HeldOutError, match="held out for audits"):
        data.split("audit", "train")
    audit = data.split("audit", "audit")
    with pytest.raises(HeldOutError):
        require_trainable(data.split("train") + audit[:1], "distill")
    with pytest.raises(HeldOutError):
        train_student("tfidf-lr", audit, data.split("test"), tmp_path / "m")
    with pytest.raises(DataError, match="unlabeled"):
        train_student("tfidf-lr", data.split("unlabeled"), data.split("test"), tmp_path / "m")


def test_bad_rows_are_counted_and_reported(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_bytes(
        b"id,text,toxicity\n"
        b"1,fine comment,0.2\n"
        b"2,too,many,fields\n"
        b"3,,0.5\n"
        b"4,caf\xe9 latin-1,0.1\n"
        b"5,not a number,high\n"
        b"6,out of range,1.7\n"
        b"1,repeated id,0.9\n"
        b"8,Fine   comment!,0.3\n"
    )
    data = load(str(path))
    report = data.report
    assert (report.rows_read, report.kept) == (8, 2)
    assert (report.malformed, report.bad_encoding, report.empty_texts) == (3, 1, 1)
    assert (report.duplicate_ids, report.duplicate_texts) == (1, 1)
    assert {r.id for r in data.records} == {"1", "1~2"}
    where = {e["where"] for e in report.examples}
    assert {"line 3", "line 5", "line 6", "line 7"} <= where


def test_jsonl_and_explicit_columns(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps({"body": t, "y": "toxic" if t in TOXIC else "nontoxic"})
                              for t in TOXIC + CLEAN) + "\n{broken\n")
    data = load(str(path), text_column="body", label_column="y")
    assert len(data.records) == 10 and data.report.malformed == 1
    assert sorted(r.label for r in data.records) == [0] * 5 + [1] * 5


def test_missing_columns_and_files_say_what_to_do(tmp_path):
    path = write_csv(tmp_path / "odd.csv", [{"words": "hi", "y": 1}])
    with pytest.raises(DataError, match="no text column found.*--text-column"):
        load(str(path))
    with pytest.raises(DataError, match="no label column 'nope'"):
        load(str(path), text_column="words", label_column="nope")
    with pytest.raises(DataError, match=r"labeled_data.csv not found.*t-davidson.*--data-dir"):
        load("davidson", data_dir=tmp_path)
    with pytest.raises(DataError, match="needs a file"):
        UserFileDataset()


def test_template_sets_cannot_be_pooled_with_training_data(tmp_path):
    with pytest.raises(DataError, match="cannot be pooled"):
        load("demo,bias-madlibs", data_dir=tmp_path)


def test_streaming_holds_one_row_not_the_file(tmp_path):
    path = tmp_path / "wide.csv"
    filler = "x" * 2000  # a wide column the data set does not keep
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "toxicity", "notes"])
        writer.writerows([f"comment {i}", i % 2, filler] for i in range(20_000))
    assert path.stat().st_size > 40_000_000
    tracemalloc.start()
    rows = sum(1 for _ in UserFileDataset(path=path).records())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert rows == 20_000
    assert peak < 4_000_000, f"peak {peak:,} bytes while streaming a {path.stat().st_size:,}-byte file"


def test_demo_audit_split_holds_only_identity_rows():
    data = load("demo")
    assert data.split_counts().keys() == {"train", "validation", "test", "unlabeled", "audit"}
    assert all(r.identities for r in data.split("audit", "audit"))


def test_data_list_and_show_cli(civil_csv, tmp_path):
    listed = invoke_cli("data", "list", "--json", "--data-dir", str(tmp_path))
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert {"name", "rows", "present", "license"} <= rows["demo"].keys()
    assert rows["demo"]["present"] and rows["demo"]["rows"] == 1493
    assert rows["davidson"]["present"] is False and rows["davidson"]["rows"] is None
    shown = json.loads(invoke_cli("data", "show", str(civil_csv), "--json", "--labeled", "20").stdout)
    assert shown["rows"] == 400 and shown["splits"]["train"]["rows"] == 20
    assert shown["splits"]["unlabeled"]["labels_hidden"] is True
    assert shown["identities"]["muslim"] == 80
    missing = invoke_cli("data", "show", "davidson", "--data-dir", str(tmp_path))
    assert missing.returncode == 1 and "not found" in missing.stderr and "Traceback" not in missing.stderr


def test_plugin_names_are_kebab_case_and_former_names_still_load_with_a_warning():
    from moderation.audit import trained_on
    from moderation.plugins import RENAMED, get_registry

    registry = get_registry()
    for kind in ("dataset", "student", "teacher", "audit", "prompt_strategy"):
        assert all("_" not in name for name in registry.names(kind)), registry.names(kind)
    for (kind, old), new in RENAMED.items():
        with pytest.warns(FutureWarning, match=f"'{old}' is now called '{new}'"):
            assert registry.get(kind, old) is registry.get(kind, new)
    # a saved model's lineage may name the data the old way; reading it is no user's mistake: no warning
    assert trained_on({"data": "davidson,jigsaw_toxic", "teacher_data": "bias_madlibs"}) == [
        "davidson", "jigsaw-toxic", "bias-madlibs"]
    result = run_cli("data", "list", "--json")
    assert result.returncode == 0 and "jigsaw-toxic" in result.stdout


@pytest.mark.parametrize("name", ["rows.csv", "rows.csv.gz", "rows.jsonl"])
def test_a_table_whose_rows_are_not_read_to_the_end_leaves_no_file_open(tmp_path, name):
    import gc
    import gzip
    import warnings

    from moderation.tables import open_table

    content = "text,label\nhello,0\nawful,1\n" if ".csv" in name else '{"text": "hello", "label": 0}\n'
    path = tmp_path / name
    path.write_bytes(gzip.compress(content.encode()) if name.endswith(".gz") else content.encode())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        unread = open_table(path)  # only the header is looked at
        started = open_table(path)
        next(started.rows)
        started.rows.close()
        del unread, started
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
