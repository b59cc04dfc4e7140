"""Saved models: manifest, model card, reload through the plugin, and clear errors."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from moderation.artifacts import (
    ArtifactError,
    files_fingerprint,
    load_model,
    read_manifest,
    save_model,
    update_manifest,
)
from moderation_plugins.tfidf_lr import TfidfLogisticStudent

TEXTS = ["you are an idiot", "lovely weather today", "shut up, moron", "thanks for the help"]


@pytest.fixture
def saved(tmp_path):
    model = TfidfLogisticStudent(C=2.0).fit(TEXTS, [0.9, 0.1, 0.8, 0.0])
    manifest = save_model(model, tmp_path / "m", kind="student", params={"C": 2.0},
                          data_fingerprint="abc", metrics={"test_roc_auc": 0.75})
    return model, manifest, tmp_path / "m"


def test_round_trip_gives_identical_scores(saved):
    model, manifest, path = saved
    again = load_model(path)
    assert isinstance(again, TfidfLogisticStudent)
    assert np.allclose(model.score(TEXTS), again.score(TEXTS))
    assert read_manifest(path) == manifest


def test_manifest_and_card_carry_provenance(saved):
    _, manifest, path = saved
    data = json.loads((path / "manifest.json").read_text())
    assert data["plugin"] == "tfidf-lr" and data["kind"] == "student" and data["distribution"] == "moderation"
    assert data["params"] == {"C": 2.0} and data["data_fingerprint"] == "abc"
    assert data["fingerprint"] == files_fingerprint(path) and len(data["fingerprint"]) == 64
    card = (path / "MODEL_CARD.md").read_text()
    assert manifest.model_id in card and "test_roc_auc | 0.7500" in card


def test_fingerprint_is_stable_across_copies_and_changes_with_content(saved, tmp_path):
    _, manifest, path = saved
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    assert files_fingerprint(copy) == manifest.fingerprint
    (copy / "tfidf_lr.skops").write_bytes(b"changed")
    assert files_fingerprint(copy) != manifest.fingerprint


def test_missing_directory_and_missing_manifest(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="has no manifest.json"):
        load_model(tmp_path / "empty")


@pytest.mark.parametrize("content", ["{not json", '{"kind": "student"}', "\xff\xfe"])
def test_corrupt_manifest_is_a_clear_error(saved, content):
    path = saved[2]
    (path / "manifest.json").write_bytes(content.encode("latin-1"))
    with pytest.raises(ArtifactError, match="manifest.json is corrupt"):
        load_model(path)


def test_manifest_naming_an_uninstalled_plugin(saved):
    path = saved[2]
    data = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps({**data, "plugin": "gone-student"}))
    with pytest.raises(ArtifactError, match="plugin 'gone-student'.*cannot be used here"):
        load_model(path)


def test_damaged_model_file(saved):
    path = saved[2]
    (path / "tfidf_lr.skops").write_bytes(b"")
    update_manifest(path, fingerprint=files_fingerprint(path))  # damaged when saved, so the fingerprint matches
    with pytest.raises(ArtifactError, match="could not be read"):
        load_model(path)


def test_swapped_model_files_are_refused(saved, tmp_path):
    path = saved[2]
    other = save_model(TfidfLogisticStudent(C=2.0).fit(TEXTS, [0.1, 0.9, 0.2, 1.0]), tmp_path / "other",
                       kind="student")
    shutil.copy(tmp_path / "other" / "tfidf_lr.skops", path / "tfidf_lr.skops")
    assert other.fingerprint != saved[1].fingerprint
    with pytest.raises(ArtifactError, match="do not match the fingerprint.*changed or swapped"):
        load_model(path)


def test_a_fingerprint_of_the_wrong_type_is_a_clear_error(saved):
    path = saved[2]
    data = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps({**data, "fingerprint": 123}))
    with pytest.raises(ArtifactError, match="corrupt: fingerprint of the wrong type"):
        load_model(path)


def test_a_pickled_model_is_never_unpickled(saved, tmp_path):
    import pickle

    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = saved[2]
    (path / "tfidf_lr.skops").unlink()
    (path / "tfidf_lr.joblib").write_bytes(pickle.dumps(Exploit()))
    update_manifest(path, fingerprint=files_fingerprint(path))
    with pytest.raises(ArtifactError, match="old pickle format, which could run code"):
        load_model(path)
    assert not marker.exists()


def test_a_skops_file_with_foreign_types_is_refused(saved):
    import skops.io

    path = saved[2]
    skops.io.dump({"pipeline": shutil.copyfile, "params": {}}, path / "tfidf_lr.skops")
    update_manifest(path, fingerprint=files_fingerprint(path))
    with pytest.raises(ArtifactError, match="types a tfidf-lr model never has"):
        load_model(path)


def test_refuses_to_overwrite_a_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    model = TfidfLogisticStudent().fit(TEXTS, [1, 0, 1, 0])
    with pytest.raises(ArtifactError, match="refusing to overwrite"):
        save_model(model, tmp_path / "precious", kind="student")
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


def test_a_tfidf_model_file_stays_small_and_quick(tmp_path):
    # skops writes numpy scalars one file each: a vocabulary of numpy ints made a 60 MB file taking minutes;
    # and a dict one schema node per entry: the demo model's 79,000 terms took 20-50 s to write and to read.
    import time

    import skops.io

    from moderation.data import load

    train = load("demo").split("train", "train")
    texts = [r.text for r in train]
    model = TfidfLogisticStudent().fit(texts, [r.toxicity for r in train])
    started = time.perf_counter()
    save_model(model, tmp_path / "m", kind="student")
    loaded = load_model(tmp_path / "m")
    assert time.perf_counter() - started < 10
    assert (tmp_path / "m" / "tfidf_lr.skops").stat().st_size < 1_000_000
    assert np.array_equal(loaded.score(texts), model.score(texts))
    # A file of the earlier layout (the vocabularies inside the pipeline) still loads, to the same scores.
    small = TfidfLogisticStudent().fit(TEXTS, [1, 0, 1, 0])
    (tmp_path / "old").mkdir()
    skops.io.dump({"pipeline": small.pipeline, "params": small.params}, tmp_path / "old" / "tfidf_lr.skops")
    assert np.array_equal(TfidfLogisticStudent.load(tmp_path / "old").score(texts), small.score(texts))
