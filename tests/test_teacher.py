"""The LoRA teacher on a tiny random encoder: training, best checkpoint, resume, save/load, bad input."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest

import moderation_plugins.minilm_lora as lora
from moderation.artifacts import files_fingerprint, load_model, save_model, update_manifest
from moderation.burying import buried
from moderation.data import load, make_record
from moderation.protocols import Record
from moderation.splits import split_key
from moderation.tables import InputError
from moderation_plugins.minilm_lora import MiniLMLoraTeacher
from tests.conftest import invoke_cli, make_tiny_encoder

TOXIC = ["idiot", "moron", "stupid", "loser", "trash", "pathetic"]
CLEAN = ["thanks", "lovely", "helpful", "great", "kind", "welcome"]
FAST = {"max_steps": 30, "eval_every": 10, "batch_size": 8, "learning_rate": 5e-3, "max_length": 16, "rank": 4}


def synthetic(n: int, seed: int, split: str) -> list[Record]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        toxic = i % 2 == 0
        words = rng.sample(TOXIC if toxic else CLEAN, 2) + rng.sample(["the", "a", "you", "this", "is"], 2)
        rng.shuffle(words)
        record = make_record(f"{split}{i}", " ".join(words) + f" {i}", 0.9 if toxic else 0.1)
        rows.append(Record(**{**{f: getattr(record, f) for f in record.__slots__}, "split": split}))
    return rows


TRAIN, VALIDATION = synthetic(160, 1, "train"), synthetic(40, 2, "validation")


@pytest.fixture(scope="module")
def trained(tiny_encoder) -> MiniLMLoraTeacher:
    return MiniLMLoraTeacher(base=tiny_encoder, **FAST).fit(TRAIN, VALIDATION)


def test_learns_soft_targets_and_keeps_the_best_checkpoint(trained):
    teacher = trained
    assert teacher.state.step == 30 and len(teacher.state.history) == 3
    assert teacher.state.best_auc == max(h["val_auc"] for h in teacher.state.history)
    assert teacher.state.best_auc > 0.9
    scores = teacher.score([r.text for r in VALIDATION])
    assert scores.shape == (40,) and np.all((scores > 0) & (scores < 1))
    trainable = sum(p.numel() for p in teacher.model.parameters() if p.requires_grad)
    assert trainable < 0.2 * teacher.n_parameters  # LoRA: a small part of the model trains


def test_saves_the_adapter_not_the_base_and_reloads_identically(trained, tmp_path):
    teacher = trained
    save_model(teacher, tmp_path / "t", kind="teacher")
    files = {p.name for p in (tmp_path / "t").rglob("*") if p.is_file()}
    assert {"adapter_model.safetensors", "adapter_config.json", "teacher.json", "manifest.json"} <= files
    assert "model.safetensors" not in files
    again = load_model(tmp_path / "t")
    texts = [r.text for r in VALIDATION]
    assert np.allclose(teacher.score(texts), again.score(texts), atol=1e-5)


def test_resumes_from_its_checkpoint_to_the_same_model(trained, tiny_encoder, tmp_path, monkeypatch):
    texts = [r.text for r in VALIDATION]
    straight = trained.score(texts)
    save = lora._save_checkpoint

    def crash_after_step_20(directory, settings, state):
        save(directory, settings, state)
        if state["state"]["step"] == 20:
            raise KeyboardInterrupt  # the run dies right after its step-20 checkpoint

    monkeypatch.setattr(lora, "_save_checkpoint", crash_after_step_20)
    with pytest.raises(KeyboardInterrupt):
        MiniLMLoraTeacher(base=tiny_encoder, **FAST).fit(TRAIN, VALIDATION, checkpoint_dir=tmp_path)
    monkeypatch.setattr(lora, "_save_checkpoint", save)
    resumed = MiniLMLoraTeacher(base=tiny_encoder, **FAST)
    resumed.fit(TRAIN, VALIDATION, checkpoint_dir=tmp_path)
    assert [h["step"] for h in resumed.state.history] == [10, 20, 30]
    assert np.array_equal(resumed.score(texts), straight)


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/tmp/moderation-test-planted-checkpoint-ran"


def test_a_planted_checkpoint_is_refused_without_running_code(tiny_encoder, tmp_path):
    import torch

    if os.path.exists(MARKER):
        os.remove(MARKER)
    torch.save({"key": "anything", "payload": Exploit()}, tmp_path / lora.CHECKPOINT)
    with pytest.raises(InputError, match="can resume from safely.*delete it"):
        MiniLMLoraTeacher(base=tiny_encoder, **FAST).fit(TRAIN, VALIDATION, checkpoint_dir=tmp_path)
    assert not os.path.exists(MARKER)


def test_adapter_for_another_base_is_refused(trained, tmp_path):
    save_model(trained, tmp_path / "t", kind="teacher")
    other = make_tiny_encoder(tmp_path / "other-base", seed=1)
    config = json.loads((tmp_path / "t" / "teacher.json").read_text())
    (tmp_path / "t" / "teacher.json").write_text(json.dumps({**config, "base": str(other)}))
    update_manifest(tmp_path / "t", fingerprint=files_fingerprint(tmp_path / "t"))  # as if saved that way
    with pytest.raises(Exception, match="trained on another base"):
        load_model(tmp_path / "t")


def test_bad_bases_and_empty_splits_fail_before_training(tiny_encoder, tmp_path):
    with pytest.raises(InputError, match="not a local Hugging Face checkpoint"):
        MiniLMLoraTeacher(base=tmp_path / "nowhere")
    (tmp_path / "vision").mkdir()
    (tmp_path / "vision" / "config.json").write_text(json.dumps({"model_type": "vit"}))
    with pytest.raises(InputError, match="no sequence-classification head"):
        MiniLMLoraTeacher(base=tmp_path / "vision")
    teacher = MiniLMLoraTeacher(base=tiny_encoder, **FAST)
    with pytest.raises(InputError, match="training split is empty"):
        teacher.fit([], VALIDATION)
    with pytest.raises(InputError, match="validation split needs toxic and non-toxic"):
        teacher.fit(TRAIN, VALIDATION[:1])


def test_teacher_train_cli_on_demo_data(tiny_encoder, tmp_path):
    out = tmp_path / "teacher"
    result = invoke_cli("teacher", "train", "--data", "demo", "--base", str(tiny_encoder), "--out", str(out),
                        "--steps", "10", "--eval-every", "5", "--batch-size", "8", "--max-length", "24",
                        "--oversample", "toxigen=3", "--lr", "0.2", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"].startswith("minilm-lora@")
    # The reported AUC is the saved model's on the demo test split, as `moderation evaluate` measures it. The
    # random tiny encoder's scores lie within 2e-3 of each other even at this rate (at 0.02, 2e-4), where float
    # noise alone reorders them (the model in training and the one saved differ by rounding, and so do thread
    # counts): the check runs in a CLI process, as the training did.
    rescored = json.loads(invoke_cli("evaluate", "--model", str(out), "--data", "demo", "--json").stdout)
    assert (rescored["split"], rescored["rows"]) == ("test", len(load("demo").split("test")))
    assert report["metrics"]["test_roc_auc"] == pytest.approx(rescored["roc_auc"], abs=1e-6)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "teacher" and manifest["params"]["max_steps"] == 10
    assert manifest["lineage"]["oversample"] == {"toxigen": 3}  # the demo set's ToxiGen rows seen 3 times
    train = load("demo").split("train", "train")
    assert manifest["metrics"]["train_rows"] == len(train) + 2 * sum(r.source == "toxigen" for r in train)
    assert not (tmp_path / ".teacher.checkpoints").exists()  # cleaned up once the model is saved
    bad = invoke_cli("teacher", "train", "--data", "demo", "--base", str(tmp_path / "missing"), "--out", str(out))
    assert bad.returncode == 1 and "not a local Hugging Face checkpoint" in bad.stderr
    unknown = invoke_cli("teacher", "train", "--data", "demo", "--base", str(tiny_encoder), "--out", str(out),
                         "--oversample", "stormfront=2")
    assert unknown.returncode == 1 and "--oversample names stormfront" in unknown.stderr


def test_teacher_train_buries_the_rows_of_a_data_set_it_names(tiny_encoder, tmp_path):
    out = tmp_path / "teacher"
    train = ["teacher", "train", "--data", "demo", "--base", str(tiny_encoder), "--out", str(out), "--steps", "2",
             "--eval-every", "2", "--batch-size", "8", "--max-length", "24"]
    result = invoke_cli(*train, "--bury-for", "toxigen=1", "--oversample", "toxigen=3", "--json")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["lineage"]["bury"] == {"share": 0.0, "version": "1", "for": {"toxigen": 1.0}}
    data = load("demo")
    rows = data.split("train", "train")
    copies = buried(rows, 0.0, share_for={"toxigen": 1.0},
                    avoid={split_key(r.text) for r in data.records if r.split != "train"})
    assert copies and {r.source for r in copies} == {"toxigen+bury"}  # ToxiGen's short toxic rows only
    toxigen = sum(r.source == "toxigen" for r in rows) + len(copies)  # its copies are repeated with it
    assert manifest["metrics"]["train_rows"] == len(rows) + len(copies) + 2 * toxigen
    unknown = invoke_cli(*train, "--bury-for", "stormfront=1")
    assert unknown.returncode == 1
    assert "--bury-for names stormfront, which the train split does not hold" in unknown.stderr


def test_the_trained_teacher_conforms(trained):
    from moderation.testing import check_scorer

    check_scorer(trained)
