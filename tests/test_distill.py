"""Students, distillation from a teacher's soft scores, evaluation, and their bad inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from moderation.artifacts import ArtifactError, load_model, save_model
from moderation.data import HeldOutError, load, make_record
from moderation.distill import mean_labels, transfer_set
from moderation.evaluation import agreement, expected_calibration_error, quality
from moderation.labeling import label
from moderation.splits import split_key, text_hash
from moderation.student_training import train_student
from moderation.tables import InputError
from moderation_plugins.mini_transformer import MiniTransformerStudent
from moderation_plugins.ngram_mlp import NgramMlpStudent
from moderation_plugins.tiny_transformer import TinyTransformerStudent
from tests.conftest import invoke_cli, run_cli

TEXTS = ["you idiot", "idiot moron", "nice day", "lovely day", "mild jerk", "what a jerk"] * 10
SOFT = [0.95, 0.9, 0.05, 0.0, 0.45, 0.4] * 10


def test_ngram_mlp_learns_soft_targets_and_saves_small(tmp_path):
    student = NgramMlpStudent(epochs=30, buckets=2**12, dim=16).fit(TEXTS, SOFT)
    idiot, day, jerk = student.score(["idiot", "day", "jerk"])
    assert idiot > jerk > day
    save_model(student, tmp_path / "s", kind="student")
    again = load_model(tmp_path / "s")
    assert np.allclose(again.score(TEXTS), student.score(TEXTS), atol=5e-3)  # half-precision weights
    assert (tmp_path / "s" / "ngram_mlp.pt").stat().st_size < 10_000_000


def test_mini_transformer_cuts_the_encoder_and_saves_only_what_it_trained(tiny_encoder, tmp_path):
    student = MiniTransformerStudent(base=tiny_encoder, layers=1, max_steps=30, learning_rate=5e-3, batch_size=8)
    assert len(student.model.base_model.encoder.layer) == 1
    student.fit(TEXTS, SOFT)
    assert student.score(["idiot moron"])[0] > student.score(["lovely day"])[0]
    save_model(student, tmp_path / "s", kind="student")
    again = load_model(tmp_path / "s")
    assert np.allclose(again.score(TEXTS), student.score(TEXTS), atol=5e-3)
    with pytest.raises(ValueError, match="layers must be between 1 and 2"):
        MiniTransformerStudent(base=tiny_encoder, layers=3)
    with pytest.raises(ValueError, match="loss"):
        MiniTransformerStudent(base=tiny_encoder, loss="hinge")


def test_tiny_transformer_scores_through_the_folded_table_as_through_the_projection(tiny_encoder):
    import torch

    student = TinyTransformerStudent(base=tiny_encoder, dim=32, layers=1, ffn=64, max_steps=20).fit(TEXTS, SOFT)
    net = student.model
    folded = student.score(TEXTS)
    assert net.table is not None
    ids = student.tokenizer(TEXTS[:6], padding=True, return_tensors="pt")["input_ids"]
    assert torch.allclose(net.projected(ids), net.project(net.words(ids)), atol=1e-5)
    student.fit(TEXTS, [1 - t for t in SOFT])  # training again must not score through a stale table
    assert not np.allclose(student.score(TEXTS), folded, atol=1e-3)
    assert torch.allclose(net.table, net.project(net.words.weight), atol=1e-5)


def test_tiny_transformer_scores_long_comments_by_truncation_or_by_windows(tiny_encoder, tmp_path):
    student = TinyTransformerStudent(base=tiny_encoder, dim=32, layers=1, ffn=64, max_steps=40, max_length=8)
    student.fit(TEXTS, SOFT)
    long = " ".join(["lovely day"] * 6 + ["you idiot moron"])  # the insult lies past the first 6 tokens
    tokens = student.tokenizer(long, add_special_tokens=False)["input_ids"]
    windows = [student.tokenizer.decode(tokens[i : i + 6]) for i in range(0, len(tokens) - 3, 3)]
    by_window = student.score(windows)
    short = TEXTS[:6]
    first = student.score([student.tokenizer.decode(tokens[:6])])[0]
    assert student.score([long])[0] == pytest.approx(first)  # truncate: the first window alone
    for mode, expected in (("window-mean", by_window.mean()), ("window-max", by_window.max())):
        student.params["long_text"] = mode
        assert student.score([long])[0] == pytest.approx(expected, abs=1e-6), mode
        assert np.allclose(student.score(short), student.score(short[::-1])[::-1])
    assert by_window.max() > first  # the last window holds the insult the first one never sees
    save_model(student, tmp_path / "s", kind="student")  # the mode is saved with the model
    assert load_model(tmp_path / "s").score([long])[0] == pytest.approx(by_window.max(), abs=5e-3)
    with pytest.raises(ValueError, match="long_text"):
        TinyTransformerStudent(base=tiny_encoder, long_text="middle")


def test_a_torch_students_manifest_records_the_thread_count_it_trained_with(tiny_encoder, tmp_path):
    import torch

    student = TinyTransformerStudent(base=tiny_encoder, dim=32, layers=1, ffn=64, max_steps=2).fit(TEXTS, SOFT)
    assert save_model(student, tmp_path / "s", kind="student").lineage["torch_threads"] == torch.get_num_threads()


def test_a_torch_student_trains_on_the_threads_the_environment_asks_for(tiny_encoder, tmp_path, monkeypatch):
    import torch

    # torch's default, one thread per core, is what a student saw when its teacher's labels came from a cache
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.setenv("MODERATION_THREADS", "1")
    rows = [make_record(f"r{i}", text, round(soft)) for i, (text, soft) in enumerate(zip(TEXTS, SOFT, strict=True))]
    try:
        manifest = train_student("tiny-transformer", rows, rows, tmp_path / "s", targets=SOFT,
                                 params={"base": str(tiny_encoder), "dim": 32, "layers": 1, "ffn": 64, "max_steps": 2})
    finally:
        torch.set_num_threads(before)
    assert manifest.lineage["torch_threads"] == 1


@pytest.mark.parametrize("student", [NgramMlpStudent, MiniTransformerStudent])
def test_students_refuse_bad_targets(student, tiny_encoder):
    model = student(base=tiny_encoder) if student is MiniTransformerStudent else student()
    with pytest.raises(ValueError, match="probabilities"):
        model.fit(["a", "b"], [0.5, math.nan])


def test_distill_from_a_saved_teacher(default_model, tmp_path):
    out = tmp_path / "student"
    result = run_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data", "demo",
                     "--out", str(out), "--cache", str(tmp_path / "cache.sqlite"), "--param", "C=2.0", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    data = load("demo")
    assert report["lineage"]["transfer_rows"] == len(data.split("train")) + len(data.split("unlabeled"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["params"] == {"C": 2.0}
    assert manifest["lineage"]["teacher_fingerprint"] == json.loads(
        (default_model / "manifest.json").read_text())["fingerprint"]
    assert manifest["lineage"]["command"].startswith("moderation distill --teacher")
    assert report["metrics"]["test_roc_auc"] > 0.75
    assert "moderation distill" in (out / "MODEL_CARD.md").read_text()


def test_transfer_targets_mix_teacher_and_gold(default_model, tmp_path):
    data = load("demo")
    records = data.split("train") + data.split("unlabeled")
    label(default_model, records, tmp_path / "l.parquet", cache_path=tmp_path / "c.sqlite")
    labels = pd.read_parquet(tmp_path / "l.parquet")
    teacher = dict(zip(labels["text_hash"], labels["score"], strict=True))
    transfer = transfer_set(data, labels, alpha=0.25)
    for record, target in zip(transfer.records, transfer.targets, strict=True):
        t = teacher[text_hash(record.text)]
        expected = t if record.label < 0 else 0.25 * t + 0.75 * record.toxicity
        assert target == pytest.approx(expected)
    with pytest.raises(InputError, match="alpha"):
        transfer_set(data, labels, alpha=1.5)


def test_a_data_set_can_lean_on_its_gold_labels(default_model, tmp_path):
    data = load("demo")
    label(default_model, data.split("train") + data.split("unlabeled"), tmp_path / "l.parquet",
          cache_path=tmp_path / "c.sqlite")
    labels = pd.read_parquet(tmp_path / "l.parquet")
    teacher = dict(zip(labels["text_hash"], labels["score"], strict=True))
    transfer = transfer_set(data, labels, alpha=1.0, alpha_for={"davidson": 0.0})
    rows = list(zip(transfer.records, transfer.targets, strict=True))
    gold = [(r, t) for r, t in rows if r.label >= 0 and r.source == "davidson"]
    assert gold and all(t == pytest.approx(r.toxicity) for r, t in gold)
    others = [(r, t) for r, t in rows if r.label < 0 or r.source != "davidson"]
    assert others and all(t == pytest.approx(teacher[text_hash(r.text)]) for r, t in others)
    with pytest.raises(InputError, match="--alpha-for names behaviour"):
        transfer_set(data, labels, alpha=0.5, alpha_for={"behaviour": 0.1})
    with pytest.raises(InputError, match="alpha-for davidson"):
        transfer_set(data, labels, alpha=0.5, alpha_for={"davidson": 2.0})


def test_labels_from_another_data_set_or_held_out_rows_are_refused(default_model, tmp_path):
    demo = load("demo")
    other = tmp_path / "other.csv"
    pd.DataFrame({"text": [f"unrelated comment {i}" for i in range(50)], "toxicity": [0.1, 0.9] * 25}).to_csv(
        other, index=False)
    foreign = load(str(other))
    label(default_model, foreign.split("train"), tmp_path / "foreign.parquet", cache_path=tmp_path / "c.sqlite")
    with pytest.raises(InputError, match="made for another data set"):
        transfer_set(demo, pd.read_parquet(tmp_path / "foreign.parquet"), alpha=0.5)
    audit = demo.split("audit", "audit")
    leaked = pd.DataFrame({"id": [r.id for r in audit], "text": [r.text for r in audit],
                           "text_hash": [text_hash(r.text) for r in audit], "score": 0.5,
                           "model_fingerprint": "x", "model": "x"})
    with pytest.raises(HeldOutError):
        transfer_set(demo, leaked, alpha=0.5)
    nan = tmp_path / "nan.parquet"
    leaked.assign(score=np.nan).to_parquet(nan)
    result = invoke_cli("distill", "--teacher", str(nan), "--student", "tfidf-lr", "--data", "demo",
                        "--out", str(tmp_path / "s"))
    assert result.returncode == 1 and "invalid scores" in result.stderr


def test_evaluate_reports_every_metric(default_model, tmp_path):
    result = invoke_cli("evaluate", "--data", "demo", "--teacher", str(default_model), "--singles", "20", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("roc_auc", "pr_auc", "f1", "ece", "latency_p50_ms", "latency_p99_ms", "throughput_per_s",
                "size_bytes", "n_parameters", "spearman_with_teacher", "decision_agreement"):
        assert key in report, key
    assert report["spearman_with_teacher"] == pytest.approx(1.0)  # the default model is its own teacher here
    assert report["size_bytes"] > 0 and report["latency_p99_ms"] >= report["latency_p50_ms"]


def test_metrics_on_hand_computed_examples():
    scores = np.array([0.1, 0.2, 0.8, 0.9])
    # Bins [0.1, 0.2) and [0.2, 0.3) hold one row each (error 0.1 and 0.2), [0.8, 0.9) and [0.9, 1] likewise
    # (errors 0.2 and 0.1): mean 0.15.
    assert expected_calibration_error(scores, np.array([0, 0, 1, 1.0])) == pytest.approx(0.15)
    q = quality(scores, [0, 0, 1, 1])
    assert (q.roc_auc, q.f1, q.precision, q.recall) == (1.0, 1.0, 1.0, 1.0)
    assert quality(scores, [1, 1, 1, 1]).roc_auc is None  # undefined, not 0.5
    assert agreement(scores, scores[::-1])["decision_agreement"] == 0.0


def test_a_model_from_another_plugin_version_says_which_versions_differ(default_model, tmp_path):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(default_model, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "plugin_version": "0.0.1"}))
    with pytest.warns(UserWarning, match="saved by moderation 0.0.1, installed moderation 0.1.0"):
        load_model(copy)
    for path in copy.iterdir():  # damage the model's own files, not its manifest
        if path.name not in ("manifest.json", "MODEL_CARD.md"):
            path.write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="saved by moderation 0.0.1, installed moderation 0.1.0"), \
            pytest.warns(UserWarning):
        load_model(copy)


def test_oversampling_repeats_the_named_source_and_its_swapped_copies():
    from moderation.distill import Transfer, oversampled

    rows = [make_record("a", "x", 0.0, source="davidson"), make_record("b", "y", 1.0, source="behaviour"),
            make_record("c", "z", 1.0, source="behaviour+swap")]
    transfer = Transfer(rows, np.array([0.1, 0.9, 0.8]), "t", "f")
    more = oversampled(transfer, {"behaviour": 3})
    assert [r.id for r in more.records] == ["a"] + ["b"] * 3 + ["c"] * 3
    assert more.targets.tolist() == [0.1] + [0.9] * 3 + [0.8] * 3
    with pytest.raises(InputError, match="stormfront, which none of the training rows come from"):
        oversampled(transfer, {"stormfront": 2})


def test_row_weights_weigh_the_named_source_and_its_swapped_copies():
    from moderation.distill import row_weights

    rows = [make_record("a", "x", 0.0, source="davidson"), make_record("b", "y", 1.0, source="framed-claims"),
            make_record("c", "z", 1.0, source="framed-claims+swap")]
    assert row_weights(rows, {}) is None
    assert row_weights(rows, {"framed-claims": 0.25}) == [1.0, 0.25, 0.25]
    with pytest.raises(InputError, match="--weight-for names stormfront"):
        row_weights(rows, {"stormfront": 0.5})
    with pytest.raises(InputError, match="positive numbers"):
        row_weights(rows, {"davidson": 0.0})


def test_a_data_sets_rows_can_weigh_less_in_the_students_loss(default_model, tmp_path):
    def distilled(name, *weight):
        result = invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data", "demo",
                            "--out", str(tmp_path / name), "--cache", str(tmp_path / "c.sqlite"), *weight, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["lineage"], load_model(tmp_path / name)

    plain_lineage, plain = distilled("plain")
    lineage, weighted = distilled("weighted", "--weight-for", "toxigen=0.05")
    assert plain_lineage["weight_for"] == {} and lineage["weight_for"] == {"toxigen": 0.05}
    toxigen = [r.text for r in load("demo").split("train") if r.source == "toxigen"]
    # the weights reach the student's fit: its scores on the down-weighted rows move
    assert np.abs(weighted.score(toxigen) - plain.score(toxigen)).max() > 0.01
    bad = invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data", "demo",
                     "--out", str(tmp_path / "bad"), "--weight-for", "toxigen=heavy")
    assert bad.returncode == 1 and "--weight-for takes DATA=W" in bad.stderr


def test_data_set_options_keep_the_dashes_of_data_set_names():
    from moderation.commands.common import oversample_counts, teacher_shares

    # parameter names turn dashes into underscores; data set names must not ("jigsaw-toxic")
    assert oversample_counts(("jigsaw-toxic=2",)) == {"jigsaw-toxic": 2}
    assert teacher_shares(("framed-claims=1.0",)) == {"framed-claims": 1.0}
    with pytest.raises(InputError, match="--alpha-for takes DATA=A"):
        teacher_shares(("framed-claims",))


def test_a_student_can_learn_the_mean_of_several_teachers(default_model, tmp_path):
    data = load("demo")
    other = tmp_path / "other-teacher"
    train_student("tfidf-lr", data.split("train", "train"), data.split("test"), other,
                  params={"C": 0.3, "max_features": 3000, "min_df": 2}, lineage={"data": "demo"})
    records = data.split("train") + data.split("unlabeled")
    frames = []
    for i, teacher in enumerate((default_model, other)):
        label(teacher, records, tmp_path / f"{i}.parquet", cache_path=tmp_path / "c.sqlite")
        frames.append(pd.read_parquet(tmp_path / f"{i}.parquet"))
    mean = mean_labels(frames)
    both = frames[0].merge(frames[1], on="text_hash")
    assert len(mean) == len(both) == len(frames[0])
    assert np.allclose(mean.set_index("text_hash").loc[both["text_hash"], "score"],
                       (both["score_x"] + both["score_y"]) / 2)
    assert mean["model"].iloc[0] == f"mean({frames[0]['model'].iloc[0]},{frames[1]['model'].iloc[0]})"
    with pytest.raises(InputError, match="the same teacher is given twice"):
        mean_labels([frames[0], frames[0]])

    out = tmp_path / "student"
    result = invoke_cli("distill", "--teacher", str(default_model), "--teacher", str(other), "--student", "tfidf-lr",
                        "--data", "demo", "--out", str(out), "--cache", str(tmp_path / "c.sqlite"), "--json")
    assert result.returncode == 0, result.stderr
    lineage = json.loads(result.stdout)["lineage"]
    assert lineage["teacher"] == mean["model"].iloc[0] and lineage["teacher_fingerprint"] == mean[
        "model_fingerprint"].iloc[0]
    assert set(lineage["teacher_data"].split(",")) >= {"demo"}


def test_a_data_sets_rows_can_be_scored_by_their_own_teacher(default_model, tmp_path):
    data = load("demo")
    other = tmp_path / "other-teacher"
    train_student("tfidf-lr", data.split("train", "train"), data.split("test"), other,
                  params={"C": 0.3, "max_features": 3000, "min_df": 2}, lineage={"data": "demo"})
    out = tmp_path / "student"
    result = invoke_cli("distill", "--teacher", str(default_model), "--teacher-for", f"toxigen={other}",
                        "--student", "tfidf-lr", "--data", "demo", "--out", str(out),
                        "--cache", str(tmp_path / "c.sqlite"), "--json")
    assert result.returncode == 0, result.stderr
    main, routed = (pd.read_parquet(tmp_path / name) for name in (".student.labels.parquet",
                                                                    ".student.labels-toxigen.parquet"))
    sources = {text_hash(r.text): r.source for r in data.split("train") + data.split("unlabeled")}
    assert {sources[h] for h in routed["text_hash"]} == {"toxigen"}  # the other teacher scored ToxiGen's rows
    assert "toxigen" not in {sources[h] for h in main["text_hash"]}  # and the main teacher none of them
    assert np.allclose(routed["score"], load_model(other).score(routed["text"].tolist()))
    lineage = json.loads(result.stdout)["lineage"]
    assert lineage["teacher_for"] == {"toxigen": str(other)}
    assert lineage["teacher"].endswith(f"(toxigen:{routed['model'].iloc[0]})")
    unknown = invoke_cli("distill", "--teacher", str(default_model), "--teacher-for", f"stormfront={other}",
                         "--student", "tfidf-lr", "--data", "demo", "--out", str(tmp_path / "s2"))
    assert unknown.returncode == 1 and "--teacher-for names stormfront" in unknown.stderr
    malformed = invoke_cli("distill", "--teacher", str(default_model), "--teacher-for", "toxigen",
                           "--student", "tfidf-lr", "--data", "demo", "--out", str(tmp_path / "s3"))
    assert malformed.returncode == 1 and "--teacher-for takes DATA=PATH" in malformed.stderr


def test_perturbed_copies_learn_the_teachers_score_alone(default_model, tmp_path):
    from moderation.distill import transfer_records

    data = load("demo")
    plain, records = transfer_records(data), transfer_records(data, perturb=1)
    copies = [r for r in records if r.source.endswith("+perturb")]
    assert len(records) == len(plain) + len(copies) and len(copies) > len(plain) // 2
    held = {split_key(r.text) for r in data.records if r.split not in ("train", "unlabeled")}
    assert not held & {split_key(r.text) for r in copies}
    label(default_model, records, tmp_path / "l.parquet", cache_path=tmp_path / "c.sqlite")
    labels = pd.read_parquet(tmp_path / "l.parquet")
    teacher = dict(zip(labels["text_hash"], labels["score"], strict=True))
    transfer = transfer_set(data, labels, alpha=0.0, rows=records)
    targets = {r.id: t for r, t in zip(transfer.records, transfer.targets, strict=True)}
    assert all(targets[r.id] == pytest.approx(teacher[text_hash(r.text)]) for r in copies)


def test_distill_records_its_perturbed_copies(default_model, tmp_path):
    out = tmp_path / "student"
    report = json.loads(invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data",
                                   "demo", "--out", str(out), "--cache", str(tmp_path / "c.sqlite"), "--perturb",
                                   "1", "--json").stdout)
    data = load("demo")
    assert report["lineage"]["perturb"] == {"copies": 1, "version": "1"}
    assert report["lineage"]["transfer_rows"] > len(data.split("train")) + len(data.split("unlabeled"))


def test_swapped_copies_can_learn_their_source_rows_target(default_model, tmp_path):
    from moderation.augment import source_id
    from moderation.distill import transfer_records

    data = load("demo")
    records = transfer_records(data, augment=2)
    label(default_model, records, tmp_path / "l.parquet", cache_path=tmp_path / "c.sqlite")
    labels = pd.read_parquet(tmp_path / "l.parquet")
    by_teacher = transfer_set(data, labels, alpha=0.5, rows=records)
    by_source = transfer_set(data, labels, alpha=0.5, rows=records, swap_targets="source")
    teacher = dict(zip((r.id for r in by_teacher.records), by_teacher.targets, strict=True))
    source = dict(zip((r.id for r in by_source.records), by_source.targets, strict=True))
    copies = [r for r in by_source.records if source_id(r) is not None]
    assert copies and all(source_id(r) in teacher for r in copies)
    assert all(source[r.id] == teacher[source_id(r)] for r in copies)
    assert all(source[r.id] == teacher[r.id] for r in by_source.records if source_id(r) is None)
    assert any(teacher[r.id] != teacher[source_id(r)] for r in copies)  # the teacher did score copies differently
    # A perturbed copy of a swapped copy is no swapped copy: unlabeled, it learns the teacher's score alone.
    with_perturbed = transfer_records(data, augment=2, perturb=1)
    label(default_model, with_perturbed, tmp_path / "p.parquet", cache_path=tmp_path / "c.sqlite")
    perturbed_labels = pd.read_parquet(tmp_path / "p.parquet")
    perturbed = transfer_set(data, perturbed_labels, alpha=0.5, rows=with_perturbed, swap_targets="source")
    scores = dict(zip(perturbed_labels["text_hash"], perturbed_labels["score"], strict=True))
    of_copies = [(r, t) for r, t in zip(perturbed.records, perturbed.targets, strict=True)
                 if r.source.endswith("+swap+perturb")]
    assert of_copies and all(source_id(r) is None for r, _ in of_copies)
    assert all(t == pytest.approx(scores[text_hash(r.text)]) for r, t in of_copies)
    with pytest.raises(InputError, match="swap targets 'gold' is not one of teacher, source"):
        transfer_set(data, labels, alpha=0.5, rows=records, swap_targets="gold")
    report = json.loads(invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data",
                                   "demo", "--out", str(tmp_path / "s"), "--cache", str(tmp_path / "c.sqlite"),
                                   "--augment", "2", "--swap-targets", "source", "--json").stdout)
    assert report["lineage"]["swap_targets"] == "source"
