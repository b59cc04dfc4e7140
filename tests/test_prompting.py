"""Prompt strategies: exact rendering, seeded balanced exemplars, nearest neighbours, bad input; the
embedding cache."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from moderation.data import HeldOutError, load
from moderation.embeddings import SentenceEncoder
from moderation.exemplars import DEFAULT_INSTRUCTION, LABELS, PromptError, nearest_exemplars
from moderation.plugins import get_registry
from moderation.protocols import PromptStrategy, Record

STRATEGIES = ("zero-shot", "one-shot", "few-shot", "knn-few-shot")


def strategy(name: str, **params) -> PromptStrategy:
    return get_registry().create("prompt_strategy", name, **params)


def rec(text: str, label: int, split: str = "train") -> Record:
    return Record(id=text, text=text, toxicity=float(label), label=label, split=split)


@pytest.fixture(scope="module")
def pool() -> list[Record]:
    """About 190 labeled demo rows: small enough to embed in seconds (and cached for the whole run)."""
    return load("demo", limit=300).split("train", "train")


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_strategy_is_a_registered_plugin(name):
    info = get_registry().get("prompt_strategy", name)
    assert info.description and info.distribution == "moderation"
    assert isinstance(strategy(name), PromptStrategy)


def test_zero_shot_renders_instruction_and_query_exactly(pool):
    prompt = strategy("zero-shot").build("you are kind", pool)
    assert prompt.exemplars == ()
    assert prompt.render() == f"{DEFAULT_INSTRUCTION}\n\nComment: you are kind\nLabel:"


def test_custom_templates_render_exactly():
    pool = [rec("nice hat", 0), rec("shut up idiot", 1)]
    few = strategy("few-shot", k=2, seed=3, instruction="Classify.",
                   template="{instruction}\n{exemplars}Q: {query}\nA:", exemplar_template="Q: {text}\nA: {label}\n")
    prompt = few.build("what a day", pool)
    shots = "".join(f"Q: {e.text}\nA: {e.label}\n" for e in prompt.exemplars)
    assert prompt.render() == f"Classify.\n{shots}Q: what a day\nA:"
    pairs = sorted((e.text, e.label) for e in prompt.exemplars)
    assert pairs == [("nice hat", "non-toxic"), ("shut up idiot", "toxic")]


@pytest.mark.parametrize(("k", "shares"), [(8, {4}), (5, {2, 3}), (2, {1})])
def test_few_shot_is_balanced_across_labels(pool, k, shares):
    prompt = strategy("few-shot", k=k).build("q", pool)
    labels = [e.label for e in prompt.exemplars]
    assert len(labels) == k and {labels.count(label) for label in LABELS} == shares
    texts = {r.text: LABELS[r.label] for r in pool}
    assert all(texts[e.text] == e.label for e in prompt.exemplars)  # labels are the pool's own


def test_one_shot_has_exactly_one_exemplar(pool):
    prompt = strategy("one-shot").build("q", pool)
    assert len(prompt.exemplars) == 1
    assert "Label: " + prompt.exemplars[0].label in prompt.render()


def test_exemplar_choice_is_seeded_and_independent_of_pool_order(pool):
    first = strategy("few-shot", k=6, seed=7).build("q", pool)
    shuffled = pool[:]
    random.Random(0).shuffle(shuffled)
    assert strategy("few-shot", k=6, seed=7).build("q", shuffled) == first
    assert strategy("few-shot", k=6, seed=8).build("q", pool) != first
    assert strategy("few-shot", k=6, seed=7).build("another query", pool).exemplars == first.exemplars


def test_fixed_strategies_reselect_for_a_new_pool(pool):
    few = strategy("few-shot", k=2)
    few.build("q", pool)
    other = [rec("lovely", 0), rec("you moron", 1)]
    assert {e.text for e in few.build("q", other).exemplars} == {"lovely", "you moron"}


def test_unlabeled_rows_never_become_exemplars(pool):
    hidden = [dataclasses.replace(r, toxicity=float("nan"), label=-1, text="HIDDEN " + r.text) for r in pool[:50]]
    prompt = strategy("few-shot", k=8).build("q", hidden + pool)
    assert not any(e.text.startswith("HIDDEN") for e in prompt.exemplars)


@pytest.mark.parametrize(("params", "message"), [
    ({"template": "{instruction}\n{exemplars}Label:"}, "no {query} slot"),
    ({"template": "{instruction} {query} {oops}"}, "unknown slot"),
    ({"template": "{instruction} {query"}, "not a valid template"),
    ({"template": "{} {query}"}, "positional slot"),
    ({"exemplar_template": "Comment: {text}\n"}, r"lacks slot\(s\) \['label'\]"),
    ({"exemplar_template": "{text} {label} {score}"}, "unknown slot"),
    ({"k": -1}, "whole number"),
])
def test_bad_strategy_settings_are_clear_errors(params, message):
    with pytest.raises(PromptError, match=message):
        strategy("few-shot", **params)


@pytest.mark.parametrize(("name", "k"), [("zero-shot", 2), ("one-shot", 3)])
def test_fixed_k_strategies_refuse_another_k(name, k):
    with pytest.raises(PromptError, match="always uses"):
        strategy(name, k=k)


@pytest.mark.parametrize("name", ["few-shot", "knn-few-shot"])
def test_k_larger_than_the_pool_is_a_clear_error(name):
    small = [rec("a", 0), rec("b", 1), rec("c", 1)]
    with pytest.raises(PromptError, match=r"k=4 is larger than the exemplar pool \(3 labeled rows\)"):
        strategy(name, k=4).build("q", small)


def test_too_few_rows_of_one_label_is_a_clear_error():
    lopsided = [rec("a", 0)] + [rec(f"t{i}", 1) for i in range(9)]
    with pytest.raises(PromptError, match="needs 2 'non-toxic' exemplars but the pool has only 1"):
        strategy("few-shot", k=4).build("q", lopsided)


@pytest.mark.parametrize("name", ["one-shot", "few-shot", "knn-few-shot"])
def test_a_pool_with_one_class_only_is_a_clear_error(name):
    one_class = [rec(f"toxic {i}", 1) for i in range(20)]
    with pytest.raises(PromptError, match="holds only 'toxic' rows .* both 'non-toxic' and 'toxic'"):
        strategy(name).build("q", one_class)


def test_an_empty_pool_is_a_clear_error():
    with pytest.raises(PromptError, match="no labeled rows"):
        strategy("few-shot").build("q", [])


def test_held_out_audit_rows_can_never_be_exemplars(pool):
    with pytest.raises(HeldOutError, match="held-out 'audit' split"):
        strategy("few-shot").build("q", pool + [rec("audit row", 1, split="audit")])


def test_nearest_exemplars_balanced_and_plain():
    pool = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0, 1]]  # rows 4 and 5 repeat rows 0 and 1
    labels = np.array([0, 0, 1, 1, 1, 0])
    query = np.array([[0.9, 0.1, 0.3, 0.0]], dtype=np.float32)
    # balanced k=2: nearest non-toxic (row 0, sim .9) and nearest toxic (row 4, sim .9 ties row 0 but is toxic);
    # least similar first, and a tie keeps pool order
    assert nearest_exemplars(query, pool, labels, k=2, balanced=True) == [[0, 4]]
    assert nearest_exemplars(query, pool, labels, k=3, balanced=True) == [[1, 0, 4]]  # odd one to non-toxic
    assert nearest_exemplars(query, pool, labels, k=3, balanced=False) == [[2, 0, 4]]
    many = np.repeat(query, 5, axis=0)
    assert nearest_exemplars(many, pool, labels, k=2, balanced=True, chunk=2) == [[0, 4]] * 5
    with pytest.raises(PromptError, match="needs 2 'non-toxic' exemplars but the pool has only 1"):
        nearest_exemplars(query, pool, np.array([0, 1, 1, 1, 1, 1]), k=4, balanced=True)
    with pytest.raises(PromptError, match="k=7 is larger than the exemplar pool"):
        nearest_exemplars(query, pool, labels, k=7, balanced=False)


def test_knn_few_shot_picks_the_most_similar_rows(pool):
    knn = strategy("knn-few-shot", k=4)
    query = next(r for r in pool if r.label == 1)
    prompt = knn.build(query.text, pool)
    assert prompt.exemplars[-1].text == query.text  # the query itself is its own nearest neighbour, shown last
    assert [e.label for e in prompt.exemplars].count("toxic") == 2
    unbalanced = strategy("knn-few-shot", k=4, balanced=False)
    assert unbalanced.params["balanced"] is False and len(unbalanced.build(query.text, pool).exemplars) == 4


def test_knn_prompts_differ_per_query_and_are_reproducible(pool):
    queries = ["I love my new puppy", "shut up you stupid idiot"]
    first = strategy("knn-few-shot", k=4).build_many(queries, pool)
    assert first[0].exemplars != first[1].exemplars
    assert strategy("knn-few-shot", k=4).build_many(queries, pool) == first


def test_embeddings_are_cached_on_disk_and_keyed_by_model(monkeypatch):
    texts = ["a cached sentence", "another one", "a cached sentence"]
    first = SentenceEncoder().embed(texts)
    assert first.shape == (3, 384) and np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first[0], first[2])
    fresh = SentenceEncoder()
    monkeypatch.setattr(fresh, "_compute", lambda t: pytest.fail(f"recomputed {t} despite the cache"))
    assert np.array_equal(fresh.embed(texts), first)
    shorter = SentenceEncoder(max_length=4)  # a different embedding of the same texts: its own cache file
    assert shorter.fingerprint != fresh.fingerprint and shorter.cache.path != fresh.cache.path
    long = ["a cached sentence that is cut after four tokens"]
    assert not np.allclose(shorter.embed(long), SentenceEncoder(cache=False).embed(long))


def test_in_memory_vectors_are_bounded_least_recently_used_first(monkeypatch):
    import moderation.embeddings as embeddings

    monkeypatch.setattr(embeddings, "MEMO_LIMIT", 2)
    encoder = SentenceEncoder()
    encoder.embed(["one", "two"])
    encoder.embed(["one"])  # now the most recently used
    encoder.embed(["three"])
    assert len(encoder._memo) == 2
    kept = encoder.embed(["one", "three"])  # both still in memory or on disk: nothing recomputed
    assert kept.shape == (2, 384)
    monkeypatch.setattr(encoder, "_compute", lambda t: pytest.fail(f"recomputed {t} despite the disk cache"))
    # computed alone rather than padded in a batch with "one": equal up to float rounding
    assert np.allclose(encoder.embed(["two"]), SentenceEncoder(cache=False).embed(["two"]), atol=1e-5)


def test_exemplar_and_embedding_helpers_imported_from_their_old_module_still_work():
    import moderation.exemplars
    import moderation.prompting

    with pytest.warns(DeprecationWarning, match="moved to moderation.exemplars.ExemplarStrategy"):
        assert moderation.prompting.ExemplarStrategy is moderation.exemplars.ExemplarStrategy
