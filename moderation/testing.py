"""The plugin conformance kit: does a plugin meet the contract the host relies on?

Like scikit-learn's ``check_estimator``. Call the check for your plugin's kind from your own tests::

    from moderation.testing import check_student
    check_student(KeywordStudent)                 # any callable returning a fresh, unfitted instance

Each check exercises a plugin the way the host does (``moderation/protocols.py`` declares what it reads)
and raises ``ConformanceError`` listing every rule broken, each with what was expected. The project's
own test suite runs them on every registered built-in plugin (``tests/test_conformance.py``).
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moderation.protocols import (
    OPTIONAL,
    Audit,
    AuditResult,
    Dataset,
    Prompt,
    PromptStrategy,
    Record,
    Scorer,
    Student,
)
from moderation.tables import Rejected

__all__ = ["ConformanceError", "check_audit", "check_dataset", "check_scorer", "check_strategy", "check_student"]

TOXIC = ["you are a worthless idiot", "shut up you stupid moron", "I hate you, you pathetic loser",
         "go away you disgusting creep", "what an idiot, nobody wants you here", "you moron, learn to read"]
CLEAN = ["thank you for the kind help", "what a lovely day at the beach", "great point, I agree with you",
         "the museum opens at nine tomorrow", "happy birthday, have a wonderful time", "thanks for sharing the recipe"]
TEXTS = TOXIC + CLEAN
TARGETS = [0.95, 0.9, 1.0, 0.85, 0.9, 1.0, 0.0, 0.05, 0.1, 0.0, 0.0, 0.15]
TOLERANCE = 1e-5


class ConformanceError(AssertionError):
    """A plugin breaks the contract; the message lists every rule it broke."""


class _Rules:
    def __init__(self, who: str) -> None:
        self.who, self.broken = who, []

    def require(self, ok: bool, rule: str) -> bool:
        if not ok:
            self.broken.append(rule)
        return ok

    def attempt(self, rule: str, action: Callable[[], Any]) -> Any:
        """Run ``action``; an exception breaks ``rule`` (with what was raised) and gives None."""
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - any exception is a broken rule to report, not to propagate
            self.broken.append(f"{rule} (raised {type(exc).__name__}: {exc})")
            return None

    def done(self) -> None:
        if self.broken:
            raise ConformanceError(f"{self.who} breaks {len(self.broken)} rule(s) of the plugin contract:\n- "
                                   + "\n- ".join(self.broken))


def _strings(value: Any) -> bool:
    return isinstance(value, tuple | list) and all(isinstance(v, str) for v in value)


# What each optional attribute (declared in moderation.protocols.OPTIONAL) must be when a plugin has one.
SHAPES: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "plugin": {"description": (lambda v: isinstance(v, str), "a str"),
               "license": (lambda v: isinstance(v, str), "a str")},
    "scorer": {"base": (lambda v: v is None or isinstance(v, str | Path), "None or a path (str or Path)"),
               "n_parameters": (lambda v: isinstance(v, int) and v > 0, "a positive int"),
               "warm_up": (callable, "a function of no arguments")},
    "teacher": {"fit": (callable, "a method"),
                "best_validation_auc": (lambda v: v is None or 0.0 <= v <= 1.0, "None or a number in [0, 1]")},
    "audit": {"gates": (_strings, "a tuple of summary names"),
              "min_scorers": (lambda v: isinstance(v, int) and v >= 1, "an int >= 1"),
              "applies_to": (callable, "a function of records"),
              "template_slices_only": (lambda v: isinstance(v, bool), "a bool")},
    "dataset": {"split_plan": (lambda v: type(v).__name__ == "SplitPlan", "a moderation.data.SplitPlan"),
                "present": (callable, "a method"), "version": (callable, "a method")},
    "prompt_strategy": {"params": (lambda v: isinstance(v, dict), "a dict of constructor arguments"),
                        "build_many": (callable, "a method"),
                        "fixed_k": (lambda v: v is None or isinstance(v, int) and v >= 0, "None or an int >= 0"),
                        "k": (lambda v: isinstance(v, int) and v >= 0, "an int >= 0")},
}


def _optional_rules(rules: _Rules, obj: Any, *kinds: str) -> None:
    """Each declared optional attribute the plugin has is of the declared shape."""
    for kind in kinds:
        for name in OPTIONAL[kind]:
            if hasattr(obj, name):
                ok, shape = SHAPES[kind][name]
                rules.require(ok(getattr(obj, name)), f"optional `{name}` is {shape}")


def _scores_ok(rules: _Rules, scores: Any, n: int, what: str) -> np.ndarray | None:
    arr = np.asarray(scores, dtype=float) if scores is not None else None
    if not rules.require(arr is not None and arr.shape == (n,), f"{what}: score(texts) returns one float per text "
                         f"(shape ({n},)), got {None if arr is None else arr.shape}"):
        return None
    rules.require(bool(np.all(np.isfinite(arr)) and np.all((arr >= 0) & (arr <= 1))),
                  f"{what}: every score is a probability in [0, 1] (no NaN)")
    return arr


def _scorer_rules(rules: _Rules, scorer: Any) -> np.ndarray | None:
    """The rules every scorer (teacher or student) follows once trained: shape, range, batching, save/load."""
    rules.require(isinstance(getattr(scorer, "name", None), str) and bool(scorer.name), "has a non-empty str `name`")
    rules.require(isinstance(scorer, Scorer), "has score(texts), save(directory) and a classmethod load(directory)")
    scores = _scores_ok(rules, rules.attempt("score(texts) works", lambda: scorer.score(TEXTS)), len(TEXTS),
                        "a batch")
    if scores is None:
        return None
    one_by_one = [rules.attempt("scores one text at a time", lambda t=t: scorer.score([t])) for t in TEXTS]
    if all(s is not None for s in one_by_one):
        singles = np.array([float(np.asarray(s, dtype=float).reshape(-1)[0]) for s in one_by_one])
        rules.require(np.allclose(singles, scores, atol=1e-4),
                      "a text scores the same alone as in a batch (padding or batch statistics must not leak)")
    empty = rules.attempt("score([]) works", lambda: scorer.score([]))
    rules.require(empty is not None and np.asarray(empty).shape == (0,), "score([]) returns an empty array")
    with tempfile.TemporaryDirectory() as tmp:
        before = len(rules.broken)
        rules.attempt("save(directory) works", lambda: scorer.save(Path(tmp)))
        if len(rules.broken) > before:
            return scores
        again = rules.attempt("load(directory) rebuilds the saved scorer", lambda: type(scorer).load(Path(tmp)))
        if again is not None:
            reloaded = _scores_ok(rules, rules.attempt("the reloaded scorer scores", lambda: again.score(TEXTS)),
                                  len(TEXTS), "after load")
            if reloaded is not None:
                rules.require(np.allclose(reloaded, scores, atol=1e-3),
                              "save then load gives the same scores (within 1e-3: half-precision weights allowed)")
    return scores


def check_scorer(scorer: Scorer, name: str | None = None) -> None:
    """Check a ready (trained or prompted) scorer: teachers are checked this way, since training one is the
    plugin's own business and may take hours."""
    rules = _Rules(name or f"scorer {getattr(scorer, 'name', scorer)!r}")
    _scorer_rules(rules, scorer)
    _optional_rules(rules, scorer, "scorer", "teacher", "plugin")
    rules.done()


def check_student(factory: Callable[[], Any], name: str | None = None) -> None:
    """Check a student plugin: ``factory()`` gives a fresh instance (e.g. the class, or a lambda with fast
    settings). Fits soft targets, learns the obvious, scores like a scorer, is deterministic, and refuses
    targets it cannot learn from with a ``ValueError`` (the project's ``InputError`` is one)."""
    first = factory()
    rules = _Rules(name or f"student {getattr(first, 'name', first)!r}")
    rules.require(isinstance(first, Student), "has fit(texts, soft_targets, sample_weight=None)")
    fitted = rules.attempt("fit(texts, soft_targets) works", lambda: first.fit(TEXTS, TARGETS))
    if fitted is None:
        rules.done()
    rules.require(fitted is first, "fit returns self")
    scores = _scorer_rules(rules, first)
    if scores is not None:
        rules.require(float(np.mean(scores[: len(TOXIC)])) > float(np.mean(scores[len(TOXIC):])),
                      "after fitting, the toxic training texts score higher on average than the clean ones")
        second = rules.attempt("a second instance fits", lambda: factory().fit(TEXTS, TARGETS))
        if second is not None:
            rules.require(np.allclose(np.asarray(second.score(TEXTS), dtype=float), scores, atol=TOLERANCE),
                          "two fits with the same settings give the same scores (seed everything)")
        weighted = rules.attempt("fit accepts sample_weight", lambda: factory().fit(TEXTS, TARGETS, [1.0] * len(TEXTS)))
        rules.require(weighted is not None, "fit(texts, soft_targets, sample_weight) accepts one weight per text")
    for bad, why in (([0.5, math.nan] + TARGETS[2:], "a NaN target"), ([1.5] + TARGETS[1:], "a target above 1"),
                     (TARGETS[:-1], "fewer targets than texts")):
        try:
            factory().fit(TEXTS, bad)
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001
            rules.require(False, f"fit refuses {why} with a ValueError (raised {type(exc).__name__}: {exc})")
        else:
            rules.require(False, f"fit refuses {why} with a ValueError (it trained anyway)")
    _optional_rules(rules, first, "scorer", "plugin")
    rules.done()


def check_dataset(dataset: Any, name: str | None = None, limit: int = 2000) -> None:
    """Check a data set plugin instance (with its files present): names, and the first ``limit`` rows."""
    rules = _Rules(name or f"data set {getattr(dataset, 'name', dataset)!r}")
    rules.require(isinstance(dataset, Dataset), "has `name`, `license` and records()")
    rules.require(isinstance(getattr(dataset, "license", None), str) and bool(dataset.license),
                  "states its `license` (a non-empty str)")
    rows = rules.attempt("records() yields rows", lambda: list(itertools.islice(dataset.records(), limit))) or []
    records = [r for r in rows if isinstance(r, Record)]
    rules.require(all(isinstance(r, Record | Rejected) for r in rows), "records() yields only Record or Rejected")
    rules.require(bool(records), "records() yields at least one Record")
    rules.require(all(r.split == "" for r in records), "leaves `split` empty (the data layer assigns splits)")
    rules.require(all(isinstance(r.text, str) and r.text for r in records), "every Record has non-empty text")
    rules.require(all(0.0 <= r.toxicity <= 1.0 and r.label == int(r.toxicity >= 0.5) for r in records),
                  "toxicity is in [0, 1] and label is toxicity >= 0.5 (use moderation.data.make_record)")
    texts_of: dict[str, set[str]] = {}
    for r in records:
        texts_of.setdefault(r.id, set()).add(r.text)
    rules.require(all(len(t) == 1 for t in texts_of.values()),
                  "no two different texts share a record id (a repeated text may repeat its id; the data layer "
                  "drops duplicates)")
    if hasattr(dataset, "version"):
        rules.require(isinstance(rules.attempt("version() works", dataset.version), str),
                      "version() returns a str that changes when the data does")
    _optional_rules(rules, dataset, "dataset", "plugin")
    rules.done()


def check_audit(audit: Any, scorers: dict[str, Scorer], slice_: Sequence[Record], name: str | None = None) -> None:
    """Check an audit plugin instance on a slice with the given scorers (the model under audit first)."""
    rules = _Rules(name or f"audit {getattr(audit, 'name', audit)!r}")
    rules.require(isinstance(audit, Audit), "has `name` and run(scorers, slices)")
    result = rules.attempt("run(scorers, slices) works", lambda: audit.run(scorers, {"check": list(slice_)}))
    if rules.require(isinstance(result, AuditResult), "run returns an AuditResult"):
        rules.require(all(isinstance(t, list) and all(isinstance(r, dict) for r in t) for t in result.tables.values()),
                      "tables are lists of dicts (rows)")
        rules.require(all(v is None or isinstance(v, int | float) for v in result.summary.values()),
                      "summary values are numbers or None (undefined)")
        rules.require(all(isinstance(f, bytes) and f.startswith(b"\x89PNG") for f in result.figures.values()),
                      "figures are PNG bytes")
        rules.require(all(isinstance(n, str) for n in result.notes), "notes are strings")
        rules.require(set(getattr(audit, "gates", ())) <= set(result.summary),
                      "every name in `gates` is a summary number (what --fail-under reads)")
    _optional_rules(rules, audit, "audit", "plugin")
    rules.done()


def check_strategy(strategy: Any, pool: Sequence[Record], name: str | None = None) -> None:
    """Check a prompt strategy instance with a pool of labeled training rows."""
    rules = _Rules(name or f"prompt strategy {getattr(strategy, 'name', strategy)!r}")
    rules.require(isinstance(strategy, PromptStrategy), "has `name` and build(query, pool)")
    prompt = rules.attempt("build(query, pool) works", lambda: strategy.build("you idiot", pool))
    if rules.require(isinstance(prompt, Prompt), "build returns a Prompt"):
        rules.require(prompt.query == "you idiot", "the prompt's query is the query, unchanged")
        texts = {r.text for r in pool}
        rules.require(all(e.text in texts for e in prompt.exemplars), "exemplars come from the pool")
        rules.require("you idiot" in rules.attempt("render() works", prompt.render) or "",
                      "the rendered prompt holds the query")
        again = rules.attempt("build runs twice", lambda: strategy.build("you idiot", pool))
        rules.require(again == prompt, "build is deterministic for the same query and pool")
    many = getattr(strategy, "build_many", None)
    if callable(many):
        batch = rules.attempt("build_many(queries, pool) works", lambda: many(["you idiot", "thanks a lot"], pool))
        rules.require(batch == [strategy.build(q, pool) for q in ("you idiot", "thanks a lot")],
                      "build_many gives the prompts build gives, one per query, in order")
    _optional_rules(rules, strategy, "prompt_strategy", "plugin")
    rules.done()

