"""Promptable teachers (embedding-prompted, causal-lm): calibrated scores, save/load through the
artifacts layer, the prompt reaching the model exactly; and the `moderation prompt` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from moderation.artifacts import load_model, read_manifest
from moderation.data import HeldOutError, LoadedData, load
from moderation.exemplars import PromptError
from moderation.prompting import PromptedTeacher, build_prompted_teacher, quality, save_prompted_teacher
from moderation.protocols import Record, Teacher
from tests.conftest import invoke_cli

LIMIT = "500"  # about 235 train and 80 test demo rows: seconds to embed, cached for the whole run


@pytest.fixture(scope="module")
def demo() -> LoadedData:
    return load("demo", limit=int(LIMIT))


@pytest.fixture(scope="module")
def train(demo) -> list[Record]:
    return demo.split("train", "train")


@pytest.fixture(scope="module")
def test_rows(demo) -> list[Record]:
    return demo.split("test")


def texts(records: list[Record]) -> list[str]:
    return [r.text for r in records]


# --- embedding-prompted --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def teachers(train) -> dict[str, PromptedTeacher]:
    return {name: build_prompted_teacher("embedding-prompted", name, train, strategy_params=params,
                                         calibration_size=40)
            for name, params in [("zero-shot", {}), ("few-shot", {"k": 8}), ("knn-few-shot", {"k": 8})]}


def test_embedding_teacher_scores_calibrated_probabilities(teachers, test_rows):
    scores = teachers["knn-few-shot"].score(texts(test_rows))
    assert isinstance(teachers["knn-few-shot"], Teacher)
    assert scores.shape == (len(test_rows),) and ((scores >= 0) & (scores <= 1)).all()
    assert scores.std() > 0.1  # calibrated margins spread out; an uncalibrated cosine difference would not
    assert teachers["knn-few-shot"].score([]).shape == (0,)


def test_exemplars_beat_label_descriptions_alone(teachers, test_rows):
    auc = {name: quality(t.score(texts(test_rows)), test_rows)["roc_auc"] for name, t in teachers.items()}
    assert auc["knn-few-shot"] > auc["few-shot"] > auc["zero-shot"] > 0.6, auc
    assert auc["knn-few-shot"] >= 0.8, auc


def test_calibration_sample_comes_from_train_and_stays_out_of_the_pool(teachers, train):
    teacher = teachers["few-shot"]
    info = teacher.fit_info
    assert info["calibration_rows"] >= 35 and info["pool_rows"] + info["calibration_rows"] == len(train)
    pool = {r.text for r in teacher.pool}
    assert not any(e.text not in pool for p in teacher.prompts(["x"]) for e in p.exemplars)
    assert teacher.calibration.coef > 0  # a larger toxic margin means a higher probability


def test_calibration_is_seeded(train):
    a = build_prompted_teacher("embedding-prompted", "few-shot", train, calibration_size=40, seed=1)
    b = build_prompted_teacher("embedding-prompted", "few-shot", train, calibration_size=40, seed=1)
    c = build_prompted_teacher("embedding-prompted", "few-shot", train, calibration_size=40, seed=2)
    assert a.calibration == b.calibration and a.calibration != c.calibration


@pytest.mark.parametrize("strategy", ["few-shot", "knn-few-shot"])
def test_saved_prompted_teacher_reloads_and_scores_identically(teachers, strategy, test_rows, demo, tmp_path):
    teacher = teachers[strategy]
    manifest = save_prompted_teacher(teacher, tmp_path / "t", data="demo", evaluate_on=demo.split("validation"))
    reloaded = load_model(tmp_path / "t")
    assert type(reloaded) is type(teacher) and reloaded.calibration == teacher.calibration
    assert np.array_equal(reloaded.score(texts(test_rows)), teacher.score(texts(test_rows)))
    assert manifest.kind == "teacher" and manifest.plugin == "embedding-prompted"
    assert manifest.params["strategy"] == strategy and manifest.params["strategy_params"]["k"] == 8
    assert manifest.metrics["eval_roc_auc"] > 0.6 and manifest.metrics["calibration_rows"] >= 35
    assert "no weights were trained" in (tmp_path / "t" / "MODEL_CARD.md").read_text()


def test_prompted_teacher_refuses_audit_rows_and_one_class(train):
    audit = [Record(id="a", text="held out", toxicity=1.0, label=1, split="audit")]
    with pytest.raises(HeldOutError):
        build_prompted_teacher("embedding-prompted", "few-shot", train + audit)
    with pytest.raises(PromptError, match="holds only 'non-toxic' rows"):
        build_prompted_teacher("embedding-prompted", "zero-shot", [r for r in train if r.label == 0])


@pytest.mark.parametrize(("size", "message"), [(5, "between 10 and half"), (10_000, "between 10 and half")])
def test_bad_calibration_size_is_a_clear_error(train, size, message):
    with pytest.raises(PromptError, match=message):
        build_prompted_teacher("embedding-prompted", "zero-shot", train, calibration_size=size)


def test_an_unfitted_teacher_says_what_to_do():
    from moderation.plugins import get_registry

    with pytest.raises(PromptError, match="no exemplar pool yet"):
        get_registry().create("teacher", "embedding-prompted").score(["x"])


def test_uncalibrated_teacher_returns_sigmoid_of_the_margin(train):
    teacher = build_prompted_teacher("embedding-prompted", "zero-shot", train, calibration_size=0)
    margin = teacher.raw_scores(["hello"], teacher.prompts(["hello"]))
    assert teacher.fit_info["calibration_rows"] == 0
    assert teacher.score(["hello"])[0] == pytest.approx(1 / (1 + np.exp(-margin[0])))


# --- causal-lm -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory, demo) -> Path:
    """A random 2-layer GPT-2 with a word-level tokenizer trained on the demo texts: no downloads."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny-gpt2")
    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=3000, special_tokens=["[UNK]", "[PAD]", "[EOS]"])
    words.train_from_iterator([*texts(demo.records), "Comment: Label: toxic non-toxic"], trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]", pad_token="[PAD]",
                                        eos_token="[EOS]")
    tokenizer.save_pretrained(out)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=512, n_embd=32, n_layer=2, n_head=2)
    GPT2LMHeadModel(config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def lm_teacher(tiny_lm, train) -> PromptedTeacher:
    return build_prompted_teacher("causal-lm", "few-shot", train, strategy_params={"k": 4}, base=str(tiny_lm),
                                  calibration_size=20)


class SpyTokenizer:
    """Records every text the teacher hands the tokenizer, and tokenizes it as the real one would."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer, self.calls = tokenizer, []

    def __call__(self, text, **kwargs):
        self.calls.append(text)
        return self.tokenizer(text, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def test_causal_lm_gets_the_rendered_prompt_exactly(lm_teacher, test_rows, monkeypatch):
    spy = SpyTokenizer(lm_teacher.tokenizer)
    monkeypatch.setattr(lm_teacher, "tokenizer", spy)
    queries = texts(test_rows[:3])
    lm_teacher.score(queries)
    assert spy.calls == [[p.render() for p in lm_teacher.prompts(queries)]]
    assert spy.calls[0][0].endswith(f"Comment: {queries[0]}\nLabel:")


def test_causal_lm_score_is_the_normalised_next_token_probability(lm_teacher, test_rows):
    import torch

    queries = texts(test_rows[:5])
    prompt = lm_teacher.prompts(queries[:1])[0].render()
    ids = torch.tensor([lm_teacher.tokenizer(prompt, add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        probs = torch.softmax(lm_teacher.model(input_ids=ids).logits[0, -1], dim=-1)
    non, tox = (probs[i].item() for i in lm_teacher.label_ids)
    raw = lm_teacher.raw_scores(queries, lm_teacher.prompts(queries))  # batched, padded: same as alone
    assert raw[0] == pytest.approx(np.log(tox) - np.log(non), abs=1e-4)
    assert lm_teacher.calibration.apply(np.log([tox / non]))[0] == pytest.approx(lm_teacher.score(queries)[0], abs=1e-4)


def test_causal_lm_is_deterministic_and_reloads(lm_teacher, test_rows, tmp_path):
    queries = texts(test_rows[:8])
    scores = lm_teacher.score(queries)
    assert scores.shape == (8,) and ((scores > 0) & (scores < 1)).all()
    assert np.array_equal(lm_teacher.score(queries), scores)
    save_prompted_teacher(lm_teacher, tmp_path / "lm", data="demo")
    reloaded = load_model(tmp_path / "lm")
    assert np.allclose(reloaded.score(queries), scores, atol=1e-6)
    assert read_manifest(tmp_path / "lm").params["base"] == lm_teacher.base


def test_causal_lm_warns_when_the_prompt_is_cut(tiny_lm, train):
    teacher = build_prompted_teacher("causal-lm", "zero-shot", train, base=str(tiny_lm), calibration_size=0)
    with pytest.warns(UserWarning, match="longer than the model's 512 positions"):
        score = teacher.score(["word " * 600])
    assert 0 < score[0] < 1


def test_causal_lm_bad_checkpoints_are_clear_errors(tmp_path, tiny_lm, train):
    with pytest.raises(PromptError, match="needs --base PATH"):
        build_prompted_teacher("causal-lm", "zero-shot", train)
    with pytest.raises(Exception, match="not a local Hugging Face checkpoint"):
        build_prompted_teacher("causal-lm", "zero-shot", train, base=str(tmp_path))
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    blind = Tokenizer(models.WordLevel({"[UNK]": 0, "Label": 1}, unk_token="[UNK]"))
    blind.pre_tokenizer = pre_tokenizers.Whitespace()
    odd = tmp_path / "no-label-words"
    odd.mkdir()
    for name in ("config.json", "model.safetensors"):
        (odd / name).write_bytes((tiny_lm / name).read_bytes())
    PreTrainedTokenizerFast(tokenizer_object=blind, unk_token="[UNK]").save_pretrained(odd)
    with pytest.raises(PromptError, match="with the same token"):
        build_prompted_teacher("causal-lm", "zero-shot", train, base=str(odd))


# --- the CLI ---------------------------------------------------------------------------------------------


def test_prompt_show_prints_exactly_what_the_strategy_builds(train):
    from moderation.plugins import get_registry

    result = invoke_cli("prompt", "show", "--strategy", "few-shot", "--k", "4", "--seed", "3", "--data", "demo",
                        "--limit", LIMIT, "you absolute clown")
    assert result.returncode == 0, result.stderr
    expected = get_registry().create("prompt_strategy", "few-shot", k=4, seed=3).build("you absolute clown", train)
    assert result.stdout == expected.render() + "\n"
    custom = invoke_cli("prompt", "show", "--strategy", "zero-shot", "--instruction", "Rate it.", "--template",
                        r"{instruction}\nQ: {query}\nA:", "--limit", LIMIT, "you absolute clown")
    assert custom.stdout == "Rate it.\nQ: you absolute clown\nA:\n", custom.stderr  # \n typed in a shell: a new line


@pytest.mark.parametrize(("args", "message"), [
    (["--template", "{instruction}"], "no {query} slot"),
    (["--k", "100000"], "larger than the exemplar pool"),
])
def test_prompt_show_bad_input_is_one_clear_line(args, message):
    result = invoke_cli("prompt", "show", *args, "--limit", LIMIT, "text")
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_prompt_compare_and_a_saved_teacher_through_score(tmp_path, default_model, test_rows):
    out = tmp_path / "prompted"
    saved = invoke_cli("prompt", "save", "--strategy", "knn-few-shot", "--k", "4", "--data", "demo", "--limit", LIMIT,
                       "--calibration-size", "40", "--out", str(out), "--json")
    assert saved.returncode == 0, saved.stderr
    info = json.loads(saved.stdout)
    assert info["metrics"]["eval_roc_auc"] > 0.6 and read_manifest(out).kind == "teacher"
    scored = invoke_cli("score", "--model", str(out), "--json", "you are a wonderful person")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["model"] == info["model"]

    compared = invoke_cli("prompt", "compare", "--data", "demo", "--limit", LIMIT, "--strategies",
                          "zero-shot,few-shot", "--k", "4", "--calibration-size", "40", "--compare", str(out),
                          "--compare", str(default_model), "--json")
    assert compared.returncode == 0, compared.stderr
    report = json.loads(compared.stdout)
    rows = {r["name"]: r for r in report["results"]}
    assert report["rows"] == len(test_rows) and rows["few-shot"]["k"] == 4 and rows["zero-shot"]["k"] == 0
    assert [r["kind"] for r in report["results"]] == ["prompted", "prompted", "reference", "reference"]
    assert rows[info["model"]]["roc_auc"] > rows["zero-shot"]["roc_auc"]
    assert all(0.5 < r["roc_auc"] <= 1 for r in report["results"])


def test_prompt_compare_refuses_unknown_strategies_before_any_work():
    result = invoke_cli("prompt", "compare", "--strategies", "few-shot,fifty-shot", "--limit", LIMIT)
    assert result.returncode == 1 and "no prompt_strategy plugin named 'fifty-shot'" in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_davidson_targets_few_shot_beats_zero_shot_and_knn_beats_few_shot(shared_data):
    """The issue's targets on real data (embeds about 19k tweets once: minutes on two cores). Few-shot
    varies with the exemplars drawn, so it is judged by its mean over five seeds, not one lucky draw."""
    data = load("davidson", shared_data)
    train, test = data.split("train", "train"), data.split("validation")

    def auc(name: str, **params: int) -> float:
        teacher = build_prompted_teacher("embedding-prompted", name, train, strategy_params=params)
        return quality(teacher.score(texts(test)), test)["roc_auc"]

    zero = auc("zero-shot")
    few = [auc("few-shot", k=8, seed=seed) for seed in range(5)]
    assert np.mean(few) >= zero + 0.05, (zero, few)
    assert auc("knn-few-shot", k=8) > np.mean(few), few


def test_a_strategy_with_only_build_works_with_a_teacher(teachers, test_rows):
    """Third-party strategies need only the protocol (``name`` and ``build``)."""
    from moderation.exemplars import LABELS
    from moderation.protocols import Exemplar, Prompt

    class Fixed:
        name = "fixed"

        def build(self, query, pool):
            shots = tuple(Exemplar(r.text, LABELS[r.label]) for r in pool[:2])
            return Prompt(instruction="Rate it.", exemplars=shots, query=query)

    teacher = teachers["zero-shot"]
    original = teacher.strategy
    try:
        teacher.strategy = Fixed()
        prompts = teacher.prompts(["a", "b"])
        assert [p.query for p in prompts] == ["a", "b"] and len(prompts[0].exemplars) == 2
        assert teacher.score(texts(test_rows[:3])).shape == (3,)
    finally:
        teacher.strategy = original


def test_prompted_teachers_conform(teachers, lm_teacher):
    from moderation.testing import check_scorer

    for teacher in [*teachers.values(), lm_teacher]:
        check_scorer(teacher)


def test_teacher_train_builds_a_prompted_teacher(tmp_path):
    # the host calls fit(train, validation, checkpoint_dir=...) on every trainable teacher
    result = invoke_cli("teacher", "train", "--plugin", "embedding-prompted", "--data", "demo",
                        "--out", str(tmp_path / "t"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"].startswith("embedding-prompted@")
