"""Exemplars and templates: the toolkit prompt strategy plugins import (``__all__``).

Strategies (``zero-shot``, ``one-shot``, ``few-shot``, ``knn-few-shot``) differ only in ``select``, which
picks exemplars from a labeled pool, seeded and independent of the pool's row order; ``ExemplarStrategy``
does everything else once: checking the pool and the templates, and building the ``Prompt``.
"""

from __future__ import annotations

import hashlib
import string
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from moderation.data import require_trainable
from moderation.errors import InputError
from moderation.protocols import Exemplar, Prompt, Record
from moderation.splits import text_hash

__all__ = [
    "DEFAULT_EXEMPLAR_TEMPLATE", "DEFAULT_INSTRUCTION", "DEFAULT_TEMPLATE", "LABELS", "PURPOSE", "ExemplarPool",
    "ExemplarStrategy", "FixedExemplarStrategy", "PromptError", "balanced_choice", "check_k", "check_share",
    "check_templates", "class_shares", "labeled_pool", "nearest_exemplars", "pool_key",
]

LABELS = ("non-toxic", "toxic")  # label words shown in prompts, indexed by class (0 clean, 1 toxic)
DEFAULT_INSTRUCTION = (
    "Decide whether the comment is toxic (insulting, hateful, obscene, threatening or harassing) "
    "or non-toxic. Answer with one word: toxic or non-toxic."
)
DEFAULT_TEMPLATE = Prompt.template
DEFAULT_EXEMPLAR_TEMPLATE = Prompt.exemplar_template
TEMPLATE_FIELDS = {"instruction", "exemplars", "query"}
EXEMPLAR_FIELDS = {"text", "label"}
PURPOSE = "build prompts from"


class PromptError(InputError):
    """A prompt strategy or prompted teacher cannot work with what it was given."""


# --- templates and pools -----------------------------------------------------------------------------


def _fields(template: str, what: str) -> set[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise PromptError(f"{what} {template!r} is not a valid template ({exc}); "
                          "write slots as {{name}} and literal braces as {{{{ and }}}}") from exc
    if any(not n or not n.isidentifier() for n in names):
        raise PromptError(f"{what} {template!r} has an empty or positional slot; name every slot, e.g. {{query}}")
    return names


def check_templates(template: str, exemplar_template: str) -> None:
    """Refuse templates that would silently drop the query or an exemplar's text or label."""
    names = _fields(template, "template")
    if "query" not in names:
        raise PromptError(f"template {template!r} has no {{query}} slot: the model would never see the comment. "
                          "Add {query} where the comment goes.")
    if unknown := names - TEMPLATE_FIELDS:
        raise PromptError(f"template has unknown slot(s) {sorted(unknown)}; use only {sorted(TEMPLATE_FIELDS)}")
    names = _fields(exemplar_template, "exemplar template")
    if missing := EXEMPLAR_FIELDS - names:
        raise PromptError(f"exemplar template {exemplar_template!r} lacks slot(s) {sorted(missing)}; "
                          "each exemplar needs its {text} and its {label}")
    if unknown := names - EXEMPLAR_FIELDS:
        raise PromptError(f"exemplar template has unknown slot(s) {sorted(unknown)}; use only {{text}} and {{label}}")


def pool_key(pool: Sequence[Record]) -> str:
    """Identity of an exemplar pool (texts and labels, order-independent), for caching per pool."""
    digest = hashlib.sha256()
    for key in sorted(f"{text_hash(r.text)}:{r.label}" for r in pool):
        digest.update(key.encode())
    return digest.hexdigest()


class ExemplarPool(tuple):
    """A checked exemplar pool: labeled rows in canonical order, immutable, its key computed once, so a
    teacher scoring many batches checks and hashes its pool only once."""

    key: str

    def __new__(cls, rows: Sequence[Record]) -> ExemplarPool:
        pool = super().__new__(cls, rows)
        pool.key = pool_key(rows)
        return pool


def labeled_pool(pool: Sequence[Record], classes_needed: int = 2) -> ExemplarPool:
    """The labeled rows of ``pool`` in a canonical order (by content hash, so file order never matters)."""
    if isinstance(pool, ExemplarPool):
        return pool
    require_trainable(pool, PURPOSE)
    rows = sorted((r for r in pool if r.label in (0, 1)), key=lambda r: (text_hash(r.text), r.text))
    if not rows:
        raise PromptError("the exemplar pool has no labeled rows; give the training split of a labeled data set")
    found = {r.label for r in rows}
    if len(found) < classes_needed:
        only = LABELS[next(iter(found))]
        raise PromptError(f"the exemplar pool holds only {only!r} rows ({len(rows)} of them); prompts need "
                          f"examples of both {LABELS[0]!r} and {LABELS[1]!r}: use a pool with both classes")
    return ExemplarPool(rows)


def check_k(k: int, pool_size: int) -> None:
    if k > pool_size:
        raise PromptError(f"k={k} is larger than the exemplar pool ({pool_size} labeled rows); "
                          "lower --k or give a larger pool")


def check_share(k: int, label: int, share: int, available: int) -> None:
    if share > available:
        raise PromptError(f"k={k} needs {share} {LABELS[label]!r} exemplars but the pool has only "
                          f"{available}; lower --k or add {LABELS[label]!r} rows")


def class_shares(k: int, rng: np.random.Generator) -> tuple[int, int]:
    """How many of ``k`` exemplars are non-toxic and toxic: half each, the odd one to a seeded class."""
    if k % 2 == 0:
        return k // 2, k // 2
    odd_to_toxic = int(rng.integers(2))
    return k // 2 + 1 - odd_to_toxic, k // 2 + odd_to_toxic


def balanced_choice(pool: Sequence[Record], k: int, seed: int) -> list[Record]:
    """``k`` exemplars balanced across labels, drawn with ``seed``, in a seeded order."""
    check_k(k, len(pool))
    rng = np.random.default_rng(seed)
    chosen: list[Record] = []
    for label, share in enumerate(class_shares(k, rng)):
        rows = [r for r in pool if r.label == label]
        check_share(k, label, share, len(rows))
        chosen += [rows[i] for i in rng.choice(len(rows), size=share, replace=False)]
    return [chosen[i] for i in rng.permutation(len(chosen))]


# --- strategies -----------------------------------------------------------------------------------------


class ExemplarStrategy(ABC):
    """Shared body of the prompt strategies: subclasses define ``select`` (which exemplars, per query).

    ``k`` exemplars, seeded by ``seed``; ``instruction``, ``template`` (slots ``{instruction}``,
    ``{exemplars}``, ``{query}``) and ``exemplar_template`` (``{text}``, ``{label}``) shape the text.
    """

    name = ""
    default_k = 0
    fixed_k: int | None = None  # zero- and one-shot fix k; the few-shot strategies let it be chosen

    def __init__(self, k: int | None = None, seed: int = 0, instruction: str = DEFAULT_INSTRUCTION,
                 template: str = DEFAULT_TEMPLATE, exemplar_template: str = DEFAULT_EXEMPLAR_TEMPLATE) -> None:
        if self.fixed_k is not None and k not in (None, self.fixed_k):
            raise PromptError(f"{self.name} always uses {self.fixed_k} exemplar(s); drop --k or pick few-shot")
        if k is None:
            k = self.default_k if self.fixed_k is None else self.fixed_k
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise PromptError(f"k must be a whole number of exemplars >= 0, got {k!r}")
        check_templates(template, exemplar_template)
        self.k, self.seed = k, seed
        self.instruction, self.template, self.exemplar_template = instruction, template, exemplar_template

    @property
    def params(self) -> dict[str, Any]:
        """Everything needed to rebuild this strategy: ``create("prompt_strategy", name, **params)``."""
        params = {"seed": self.seed, "instruction": self.instruction, "template": self.template,
                  "exemplar_template": self.exemplar_template}
        return params if self.fixed_k is not None else {"k": self.k, **params}

    @abstractmethod
    def select(self, queries: Sequence[str], pool: ExemplarPool) -> list[list[Record]]:
        """Exemplars for each query, from a checked pool in canonical order."""

    def build(self, query: str, pool: Sequence[Record]) -> Prompt:
        return self.build_many([query], pool)[0]

    def build_many(self, queries: Sequence[str], pool: Sequence[Record]) -> list[Prompt]:
        """Prompts for many queries at once (strategies that embed do it in one batch)."""
        chosen = self.select(queries, labeled_pool(pool)) if self.k else [[] for _ in queries]
        return [self.prompt(q, rows) for q, rows in zip(queries, chosen, strict=True)]

    def prompt(self, query: str, exemplars: Sequence[Record]) -> Prompt:
        shots = tuple(Exemplar(text=r.text, label=LABELS[r.label]) for r in exemplars)
        return Prompt(instruction=self.instruction, exemplars=shots, query=query, template=self.template,
                      exemplar_template=self.exemplar_template)


class FixedExemplarStrategy(ExemplarStrategy):
    """The same balanced, seeded exemplars for every query (chosen once per pool)."""

    _chosen: tuple[str, list[Record]] | None = None  # (pool key, exemplars), set on first use per pool

    def select(self, queries: Sequence[str], pool: ExemplarPool) -> list[list[Record]]:
        if self._chosen is None or self._chosen[0] != pool.key:
            self._chosen = (pool.key, balanced_choice(pool, self.k, self.seed))
        return [self._chosen[1]] * len(queries)


def nearest_exemplars(queries: np.ndarray, pool: np.ndarray, labels: np.ndarray, k: int,
                      balanced: bool, chunk: int = 256) -> list[list[int]]:
    """For each query vector, the pool rows of the ``k`` most similar vectors (cosine, unit vectors):
    the nearest of each label in equal shares when ``balanced``, else the nearest overall. Ordered least
    to most similar, so the closest exemplar stands next to the query. Ties go to the earlier row."""
    check_k(k, len(pool))
    groups = [np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)] if balanced else [np.arange(len(pool))]
    shares = [k // 2 + k % 2, k // 2] if balanced else [k]  # an odd k gives the extra one to non-toxic
    for label, (rows, share) in enumerate(zip(groups, shares, strict=True)):
        check_share(k, label, share, len(rows))
    picked: list[list[int]] = []
    for start in range(0, len(queries), chunk):
        sims = queries[start:start + chunk] @ pool.T
        parts = []
        for rows, share in zip(groups, shares, strict=True):
            top = np.argsort(-sims[:, rows], axis=1, kind="stable")[:, :share]
            parts.append((rows[top], np.take_along_axis(sims[:, rows], top, axis=1)))
        idx = np.concatenate([p[0] for p in parts], axis=1)
        sim = np.concatenate([p[1] for p in parts], axis=1)
        order = np.argsort(sim, axis=1, kind="stable")
        picked += np.take_along_axis(idx, order, axis=1).tolist()
    return picked
