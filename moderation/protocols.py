"""What teachers, students, prompt strategies, audits and data sets look like to the host.

Plain ``typing.Protocol`` classes: plugins need not inherit from anything, only match the shape.
Beyond the members a protocol requires, the host reads only the optional attributes declared in
``OPTIONAL``, through ``optional``; ``moderation.testing`` checks both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from moderation.tables import Rejected

# The names plugins and scripts may rely on; anything else here may change without notice.
__all__ = ["SPLITS", "OPTIONAL", "optional", "Record", "Scorer", "Teacher", "Student", "Exemplar", "Prompt",
           "PromptStrategy", "AuditResult", "Audit", "Dataset"]

SPLITS = ("train", "validation", "test", "unlabeled", "audit")

# Every optional attribute the host reads from a plugin, by kind, with the value it assumes when a plugin
# has none. "plugin" is what any registered factory (usually the class) may carry.
OPTIONAL: dict[str, dict[str, Any]] = {
    "plugin": {
        "description": None,  # one line for `moderation plugins`; None: the first line of the docstring
        "license": "",  # a data set's license, shown in model cards before any instance is made
    },
    "scorer": {
        "base": None,  # path of a base checkpoint it loads besides its own files (sizes report it apart)
        "n_parameters": None,  # parameter count, reported by `moderation evaluate`
        "warm_up": None,  # warm_up() on the factory: imports what load() needs, called as a server boots
    },
    "teacher": {
        "fit": None,  # fit(train, validation, *, checkpoint_dir=None) -> self; None: cannot be trained
        "best_validation_auc": None,  # after fit: validation ROC-AUC of the checkpoint it kept
    },
    "audit": {
        "gates": (),  # summary numbers (higher is better) `--fail-under` may gate on
        "min_scorers": 1,  # 2 for an audit that compares the model with its reference
        "applies_to": None,  # applies_to(records) -> bool: whether it can measure a slice; None: any slice
        "template_slices_only": False,  # True: run only on template data sets' slices
    },
    "dataset": {
        "split_plan": None,  # a moderation.data.SplitPlan; None: the shared plan
        "present": None,  # present() -> bool: whether its files exist; None: always present
        "version": None,  # version() -> str that changes when the data does
    },
    "prompt_strategy": {
        "params": None,  # what rebuilds it, create("prompt_strategy", name, **params); None: as created
        "build_many": None,  # build_many(queries, pool) -> list[Prompt]: exemplars for many queries at once
        "fixed_k": None,  # on the factory: the exemplar count of a strategy whose k cannot be chosen
        "k": None,  # exemplars per prompt, shown when strategies are compared
    },
}


def optional(obj: Any, kind: str, name: str) -> Any:
    """Optional attribute ``name`` of a ``kind`` plugin, or its declared default. Reading an attribute not
    declared in ``OPTIONAL`` is a KeyError: the contract lives in one place."""
    return getattr(obj, name, OPTIONAL[kind][name])


@dataclass(frozen=True, slots=True)
class Record:
    """One comment in the canonical form every data set yields.

    ``toxicity`` is a soft label in [0, 1] (an annotator fraction where the source has one);
    ``label`` is ``toxicity >= 0.5``; ``identities`` are the identity groups the text mentions (from
    the source's columns and the lexicon in ``moderation.identities``); ``terms`` are the identity
    words themselves. ``group`` ties rows that must share a split (the sentences of one forum post, a
    template's sentences, an augmented copy and its original); empty for most. ``split`` is assigned
    by the data layer (``moderation.data.load``), not by plugins.
    Rows of the ``unlabeled`` split carry ``toxicity`` NaN and ``label`` -1: their labels are hidden.
    """

    id: str
    text: str
    toxicity: float
    label: int
    identities: tuple[str, ...] = ()
    source: str = ""
    split: str = ""
    terms: tuple[str, ...] = ()
    group: str = ""


@runtime_checkable
class Scorer(Protocol):
    """Anything that turns comments into toxicity probabilities."""

    name: str

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Return one probability in [0, 1] per text, as a float array of ``len(texts)``."""

    def save(self, directory: Path) -> None:
        """Write the model's own files into ``directory`` (the host adds manifest and card)."""

    @classmethod
    def load(cls, directory: Path) -> Scorer:
        """Rebuild the scorer saved by ``save``."""


@runtime_checkable
class Teacher(Scorer, Protocol):
    """A large, slow scorer. A trainable teacher adds ``fit(train, validation, *, checkpoint_dir=None)`` over
    ``Record`` lists (returning self; resuming from ``checkpoint_dir`` when given); one without ``fit``
    cannot be trained, and ``moderation teacher train`` says so."""


@runtime_checkable
class Student(Scorer, Protocol):
    """A small, fast scorer trained on soft targets (teacher probabilities or gold fractions)."""

    def fit(
        self,
        texts: Sequence[str],
        soft_targets: Sequence[float],
        sample_weight: Sequence[float] | None = None,
    ) -> Student:
        """Train on texts with targets in [0, 1]; return self."""


@dataclass(frozen=True)
class Exemplar:
    text: str
    label: str


@dataclass(frozen=True)
class Prompt:
    """A prompt as a model sees it: instruction, worked exemplars, then the query."""

    instruction: str
    exemplars: tuple[Exemplar, ...]
    query: str
    template: str = "{instruction}\n\n{exemplars}Comment: {query}\nLabel:"
    exemplar_template: str = "Comment: {text}\nLabel: {label}\n\n"

    def render(self) -> str:
        shots = "".join(self.exemplar_template.format(text=e.text, label=e.label) for e in self.exemplars)
        return self.template.format(instruction=self.instruction, exemplars=shots, query=self.query)


@runtime_checkable
class PromptStrategy(Protocol):
    """Factories take the keyword arguments ``seed``, ``instruction``, ``template`` and ``exemplar_template``
    (the host passes them to every strategy), and ``k`` where the number of exemplars can be chosen."""

    name: str

    def build(self, query: str, pool: Sequence[Record]) -> Prompt:
        """Choose exemplars from ``pool`` (labeled training rows) and build the prompt for ``query``."""


@dataclass
class AuditResult:
    """What an audit found: tables as lists of records, figures as PNG bytes, headline numbers, and
    notes: what a reader must know to trust them (groups too small, metrics undefined and why)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)
    summary: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class Audit(Protocol):
    name: str

    def run(self, scorers: Mapping[str, Scorer], slices: Mapping[str, Sequence[Record]]) -> AuditResult:
        """Score each held-out slice with each scorer and measure it."""


@runtime_checkable
class Dataset(Protocol):
    """A data set. Factories take ``data_dir`` (where shared data lives) as a keyword argument.
    Optional: ``split_plan``, ``present()``, ``version()`` (``OPTIONAL["dataset"]``)."""

    name: str
    license: str

    def records(self) -> Iterator[Record | Rejected]:
        """Yield every row as a ``Record`` (split left empty), or a ``Rejected`` row it could not read."""
