"""The dataset plugins on the real shared data (skipped, with the reason, where it is absent)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from moderation.data import HELD_OUT, HeldOutError, LoadedData, load
from moderation.splits import split_key, text_hash
from tests.conftest import invoke_cli


@functools.cache
def loaded(name: str, data_dir: Path) -> LoadedData:
    """Each data set read once for all the tests here (seconds each); no test changes what it is given."""
    return load(name, data_dir)


@pytest.mark.parametrize(("name", "rows"), [("davidson", 24_783), ("jigsaw-toxic", 12_174), ("toxigen", 722),
                                            ("bias-madlibs", 76_564), ("templates", 76_564),
                                            ("stormfront", 10_703)])
def test_every_row_is_read_and_accounted_for(shared_data, name, rows):
    data = loaded(name, shared_data)
    report = data.report
    assert report.rows_read == rows
    lost = report.malformed + report.bad_encoding + report.empty_texts + report.duplicate_texts
    assert report.kept + lost == rows
    assert all(0.0 <= r.toxicity <= 1.0 for r in data.records if r.label >= 0)


def test_davidson_soft_labels_from_annotator_counts(shared_data):
    records = {r.id: r for r in loaded("davidson", shared_data).records}
    # Row 0 of labeled_data.csv: count 3, hate 0, offensive 0, neither 3.
    assert records["davidson-0"].toxicity == 0.0
    soft = [r for r in records.values() if 0 < r.toxicity < 1]
    assert len(soft) > 2000  # annotator disagreement survives as soft labels
    assert all(r.label == int(r.toxicity >= 0.5) for r in records.values() if r.label >= 0)
    assert "&amp;" not in " ".join(r.text for r in records.values())


def test_toxigen_groups_map_to_identities(shared_data):
    data = loaded("toxigen", shared_data)
    assert all(r.identities for r in data.records)
    groups = {g for r in data.records for g in r.identities}
    assert {"muslim", "jewish", "black", "transgender", "female", "homosexual_gay_or_lesbian"} <= groups


def test_templates_are_audit_only_with_their_terms(shared_data):
    for name in ("bias-madlibs", "templates"):
        data = loaded(name, shared_data)
        assert set(data.split_counts()) == {HELD_OUT}
        with pytest.raises(HeldOutError):
            data.split(HELD_OUT, "label")
        terms = {t for r in data.records for t in r.terms}
        assert {"gay", "muslim", "black", "straight", "american"} <= terms


def test_pooled_training_data_never_shares_text_across_splits(shared_data):
    data = load("davidson,jigsaw-toxic", shared_data)
    owner: dict[str, str] = {}
    for r in data.records:
        assert owner.setdefault(text_hash(r.text), r.split) == r.split
    assert {"train", "validation", "test", "unlabeled", HELD_OUT} == set(data.split_counts())
    assert len(data.split(HELD_OUT)) > 1000


def test_data_list_reports_the_shared_files(shared_data):
    rows = {r["name"]: r for r in json.loads(invoke_cli("data", "list", "--json", "--data-dir",
                                                        str(shared_data)).stdout)}
    assert rows["davidson"]["present"] and rows["davidson"]["rows"] == 24_783
    assert rows["toxigen"]["license"] == "CDLA-Permissive-2.0"


def test_a_text_has_one_split_in_every_data_set(shared_data):
    """The demo samples the shared sets: a row held out (or in test) there must not train the demo model."""
    demo = {text_hash(r.text): r.split for r in load("demo").records}
    shared = [r for name in ("davidson", "jigsaw-toxic", "toxigen") for r in loaded(name, shared_data).records
              if text_hash(r.text) in demo]
    assert len(shared) > 1000
    assert all(demo[text_hash(r.text)] == r.split for r in shared)


def test_davidson_retweets_never_straddle_splits(shared_data):
    """Retweets of one tweet (RT markers, other mentions or links) share one split key, so one split."""
    data = loaded("davidson", shared_data)
    owner: dict[str, str] = {}
    for r in data.records:
        assert owner.setdefault(split_key(r.text), r.split) == r.split, r.text
    assert data.report.duplicate_texts > 0  # the retweets found are counted, not silently merged


def test_stormfront_posts_stay_in_one_split(shared_data):
    data = loaded("stormfront", shared_data)
    splits: dict[str, set[str]] = {}
    for r in data.records:
        splits.setdefault(r.group, set()).add(r.split)
    assert len(splits) > 1000 and all(len(s) == 1 for s in splits.values())
    assert sum(r.label == 1 for r in data.records) > 800  # hate sentences kept with their label (unlabeled: -1)
    assert {"train", "validation", "test", "unlabeled", HELD_OUT} == set(data.split_counts())


def test_pooled_behaviour_keeps_its_template_split(shared_data):
    alone = {r.id: r.split for r in load("behaviour").records}
    pooled = {r.id: r.split for r in load("toxigen,behaviour", shared_data).records if r.source == "behaviour"}
    assert pooled == alone


def test_data_export_writes_the_split(shared_data, tmp_path):
    out = tmp_path / "test.csv"
    invoke_cli("data", "export", "toxigen", "--split", "test", "--out", str(out), "--data-dir", str(shared_data))
    import pandas as pd

    frame = pd.read_csv(out)
    expected = loaded("toxigen", shared_data).split("test")
    assert list(frame["id"]) == [r.id for r in expected] and set(frame["split"]) == {"test"}
    assert {"id", "text", "toxicity", "identities", "split"} <= set(frame.columns)
