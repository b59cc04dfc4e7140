"""Prompting a teacher instead of fine-tuning it: what prompt strategies and promptable teachers share.

- **Exemplar choice** (``ExemplarStrategy``): the strategy plugins (``zero-shot``, ``one-shot``,
  ``few-shot``, ``knn-few-shot``) differ only in ``select``, which picks exemplars from a labeled pool,
  seeded and independent of the pool's row order. Everything else (checking the pool and templates,
  building the ``Prompt``) lives here once.
- **Sentence embeddings with a disk cache** (``SentenceEncoder``): all-MiniLM-L6-v2 (or any local
  encoder) with mean pooling, cached by (model fingerprint, text hash) so that re-running a comparison
  on the same data embeds nothing twice.
- **Calibration** (``PlattCalibration``): a logistic fit turning a teacher's raw margins into
  probabilities, on a labeled sample drawn from the training split only.
- **The prompted teacher** (``PromptedTeacher``): a ``Scorer`` built from an exemplar pool and a
  strategy; subclasses supply ``raw_scores(texts, prompts)``. It saves everything needed to score the
  same way after ``moderation.artifacts.load_model``.
- ``build_prompted_teacher`` / ``save_prompted_teacher``: the Python API behind ``moderation prompt save``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import string
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from moderation.data import fingerprint, require_trainable
from moderation.plugins import get_registry
from moderation.protocols import Exemplar, Prompt, Record, optional
from moderation.splits import text_hash
from moderation.tables import InputError

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
MEMO_LIMIT = 100_000  # vectors kept in memory per encoder: about 150 MB at 384 dimensions


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


# --- sentence embeddings with a disk cache ------------------------------------------------------------


def cache_dir() -> Path:
    """Where embeddings are cached: ``<data home>/cache/embeddings`` ($MODERATION_HOME or the user data dir)."""
    from moderation.defaults import data_home

    return data_home() / "cache" / "embeddings"


def checkpoint_fingerprint(path: Path) -> str:
    """Content hash of a checkpoint's config, tokenizer and weights: cached vectors are this model's only."""
    digest = hashlib.sha256()
    names = ("config.json", "tokenizer.json", "vocab.txt", "model.safetensors", "pytorch_model.bin")
    for name in names:
        file = path / name
        if file.is_file():
            digest.update(name.encode() + b"\0")
            with file.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


class EmbeddingCache:
    """Vectors by text hash in one SQLite file per model fingerprint (safe for concurrent readers)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
                chunk = keys[start:start + 500]
                rows = db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return found

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                           [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()])


class SentenceEncoder:
    """Unit-length sentence embeddings (mean pooling) from a local encoder checkpoint, cached on disk."""

    def __init__(self, base: str | Path | None = None, max_length: int = 128, batch_size: int = 64,
                 cache: bool = True) -> None:
        from moderation.encoders import resolve_base

        self.base = base
        self.path = resolve_base(base)
        self.max_length, self.batch_size = max_length, batch_size
        self.fingerprint = hashlib.sha256(
            f"{checkpoint_fingerprint(self.path)}:mean:{max_length}".encode()).hexdigest()
        self.cache = EmbeddingCache(cache_dir() / f"{self.fingerprint[:32]}.sqlite") if cache else None
        self._memo: dict[str, np.ndarray] = {}
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        from transformers import AutoModel, AutoTokenizer

        from moderation.encoders import use_all_cores

        quiet_transformers()
        use_all_cores()
        self._tokenizer = AutoTokenizer.from_pretrained(self.path)
        self._model = AutoModel.from_pretrained(self.path).eval()

    def _compute(self, texts: list[str]) -> np.ndarray:
        import torch

        from moderation.encoders import mean_pool

        if self._model is None:
            self._load()
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad least
        out = np.zeros((len(texts), self._model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode(), tqdm(total=len(texts), desc="embedding", unit=" texts", disable=None) as bar:
            for start in range(0, len(texts), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = self._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                        max_length=self.max_length, return_tensors="pt")
                pooled = mean_pool(self._model(**batch).last_hidden_state, batch["attention_mask"])
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
                bar.update(len(idx))
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text (float32, ``len(texts)`` x hidden size)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        found = {k: self._memo.pop(k) for k in dict.fromkeys(keys) if k in self._memo}  # re-inserted as newest
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing and self.cache is not None:
            found.update(self.cache.get(missing))
            missing = [k for k in missing if k not in found]
        if missing:
            first = dict(zip(keys, texts, strict=True))
            fresh = dict(zip(missing, self._compute([first[k] for k in missing]), strict=True))
            found.update(fresh)
            if self.cache is not None:
                self.cache.put(fresh)
        self._remember(found)
        return np.stack([found[k] for k in keys])

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep recently used vectors in memory (a pool's exemplars are looked up every batch); the least
        recently used go first once ``MEMO_LIMIT`` is reached, so labeling millions of rows stays bounded."""
        self._memo.update(vectors)
        for key in list(itertools.islice(self._memo, max(0, len(self._memo) - MEMO_LIMIT))):
            del self._memo[key]


def quiet_transformers() -> None:
    """No per-load weight progress bars: ours (tqdm, over texts) say what the user waits for."""
    from transformers.utils import logging

    logging.disable_progress_bar()


_ENCODERS: dict[str, SentenceEncoder] = {}


def get_encoder(base: str | Path | None = None) -> SentenceEncoder:
    """One encoder per checkpoint per process, shared by strategies and teachers (one model in memory)."""
    key = str(base)
    if key not in _ENCODERS:
        _ENCODERS[key] = SentenceEncoder(base)
    return _ENCODERS[key]


# --- calibration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlattCalibration:
    """``p = sigmoid(coef * raw + intercept)``; the identity on log-odds is ``coef=1, intercept=0``."""

    coef: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, raw: np.ndarray, labels: Sequence[int]) -> PlattCalibration:
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(labels)
        if len(set(labels.tolist())) < 2:
            raise PromptError("the calibration sample holds one class only; use a larger --calibration-size")
        model = LogisticRegression(C=1e4, max_iter=1000).fit(np.asarray(raw, dtype=float).reshape(-1, 1), labels)
        return cls(coef=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))

    def apply(self, raw: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        return expit(self.coef * np.asarray(raw, dtype=float) + self.intercept)


def calibration_split(rows: list[Record], size: int, seed: int) -> tuple[list[Record], list[Record]]:
    """(calibration sample, exemplar pool): a seeded, label-stratified sample kept out of the pool, so the
    teacher is never calibrated on its own exemplars."""
    if size == 0:
        return [], rows
    if size < 10 or size > len(rows) // 2:
        raise PromptError(f"--calibration-size {size}: use 0 (no calibration) or between 10 and half the "
                          f"labeled training rows ({len(rows) // 2})")
    rng = np.random.default_rng(seed + 1)  # not the strategy's stream: exemplars and sample stay independent
    labels = np.array([r.label for r in rows])
    picked: list[int] = []
    for label in (0, 1):
        idx = np.flatnonzero(labels == label)
        share = max(1, round(size * len(idx) / len(rows)))
        picked += rng.choice(idx, size=min(share, len(idx) - 1), replace=False).tolist()
    chosen = set(picked)
    return [rows[i] for i in sorted(chosen)], [r for i, r in enumerate(rows) if i not in chosen]


# --- the prompted teacher ---------------------------------------------------------------------------------

STATE_FILE = "prompted.json"
POOL_FILE = "pool.jsonl"


class PromptedTeacher(ABC):
    """Base of the promptable teachers: a strategy, an exemplar pool and a calibration, saved together.

    Subclasses set ``name`` and ``teacher_params`` (their own JSON-able settings, passed back to
    ``__init__`` on load) and define ``raw_scores(texts, prompts)``: one log-odds-like margin per text.
    """

    name = ""

    def __init__(self, strategy: str = "zero-shot", strategy_params: dict[str, Any] | None = None,
                 calibration_size: int = 300, seed: int = 0) -> None:
        strategy_params = dict(strategy_params or {})
        strategy_params.setdefault("seed", seed)
        self.strategy = get_registry().create("prompt_strategy", strategy, **strategy_params)
        self.strategy_params = optional(self.strategy, "prompt_strategy", "params") or strategy_params
        self.calibration_size, self.seed = calibration_size, seed
        self.pool: Sequence[Record] = ()
        self.calibration: PlattCalibration | None = None
        self.fit_info: dict[str, Any] = {}

    @property
    def teacher_params(self) -> dict[str, Any]:
        return {}

    @property
    def params(self) -> dict[str, Any]:
        """Everything that shapes the scores, for the manifest."""
        return {**self.teacher_params, "strategy": self.strategy.name, "strategy_params": self.strategy_params,
                "calibration_size": self.calibration_size, "seed": self.seed}

    @abstractmethod
    def raw_scores(self, texts: Sequence[str], prompts: Sequence[Prompt]) -> np.ndarray:
        """Uncalibrated scores (higher = more toxic) for texts and their prompts."""

    def fit(self, train: Sequence[Record], validation: Sequence[Record] | None = None, *,
            checkpoint_dir: Path | None = None) -> PromptedTeacher:
        """Take the labeled training rows as exemplar pool and calibration sample (``validation`` is not used:
        it stays clean for measuring; nothing runs long enough to need ``checkpoint_dir``)."""
        require_trainable(train, PURPOSE)
        rows = labeled_pool(train)
        sample, pool = calibration_split(rows, self.calibration_size, self.seed)
        self.pool = labeled_pool(pool)  # both classes must remain for the exemplars
        self.calibration = PlattCalibration()
        if sample:
            texts = [r.text for r in sample]
            raw = self.raw_scores(texts, self.prompts(texts))
            self.calibration = PlattCalibration.fit(raw, [r.label for r in sample])
        self.fit_info = {"pool_rows": len(self.pool), "calibration_rows": len(sample),
                         "pool_fingerprint": fingerprint(self.pool),
                         "calibration_fingerprint": fingerprint(sample) if sample else None}
        return self

    def prompts(self, texts: Sequence[str]) -> list[Prompt]:
        """One prompt per text; strategies with ``build_many`` (all built-ins) choose exemplars in one batch."""
        build_many = optional(self.strategy, "prompt_strategy", "build_many")
        if build_many is not None:
            return build_many(list(texts), self.pool)
        return [self.strategy.build(text, self.pool) for text in texts]

    def score(self, texts: Sequence[str]) -> np.ndarray:
        if self.calibration is None:
            raise PromptError(f"{self.name} has no exemplar pool yet: call fit(train_records) "
                              "or build one with `moderation prompt save`")
        texts = list(texts)
        if not texts:
            return np.zeros(0)
        return self.calibration.apply(self.raw_scores(texts, self.prompts(texts)))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        state = {"teacher": self.name, "teacher_params": self.teacher_params, "strategy": self.strategy.name,
                 "strategy_params": self.strategy_params, "calibration_size": self.calibration_size,
                 "seed": self.seed, "calibration": vars(self.calibration) if self.calibration else None,
                 "fit": self.fit_info}
        (directory / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        with (directory / POOL_FILE).open("w", encoding="utf-8") as fh:
            for r in self.pool:
                fh.write(json.dumps({"id": r.id, "text": r.text, "label": r.label, "toxicity": r.toxicity},
                                    ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, directory: Path) -> PromptedTeacher:
        directory = Path(directory)
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        if state["teacher"] != cls.name:
            raise ValueError(f"{directory} holds a {state['teacher']!r} teacher, not {cls.name!r}")
        teacher = cls(strategy=state["strategy"], strategy_params=state["strategy_params"],
                      calibration_size=state["calibration_size"], seed=state["seed"], **state["teacher_params"])
        with (directory / POOL_FILE).open(encoding="utf-8") as fh:
            teacher.pool = labeled_pool([Record(id=d["id"], text=d["text"], toxicity=d["toxicity"],
                                                label=d["label"], split="train") for d in map(json.loads, fh)])
        teacher.calibration = PlattCalibration(**state["calibration"]) if state["calibration"] else None
        teacher.fit_info = state["fit"]
        if teacher.fit_info.get("pool_fingerprint") not in (None, fingerprint(teacher.pool)):
            raise ValueError(f"{directory / POOL_FILE} does not match the fingerprint recorded when it was saved")
        return teacher


# --- Python API: build, measure, save ---------------------------------------------------------------------


def build_prompted_teacher(teacher: str, strategy: str, train: Sequence[Record], *,
                           strategy_params: dict[str, Any] | None = None, **teacher_params: Any) -> PromptedTeacher:
    """A fitted prompted teacher: ``teacher`` plugin, ``strategy`` plugin, exemplars from ``train``."""
    model = get_registry().create("teacher", teacher, strategy=strategy, strategy_params=strategy_params,
                                  **teacher_params)
    if not isinstance(model, PromptedTeacher):
        raise PromptError(f"teacher {teacher!r} is not promptable; promptable teachers: {', '.join(promptable())}")
    return model.fit(train)


def promptable() -> list[str]:
    """Names of the installed teachers that take a prompt strategy."""
    registry = get_registry()
    return [n for n in registry.names("teacher")
            if isinstance(registry.get("teacher", n).factory, type)
            and issubclass(registry.get("teacher", n).factory, PromptedTeacher)]


def quality(scores: np.ndarray, records: Sequence[Record]) -> dict[str, float | None]:
    """ROC-AUC, PR-AUC and Brier score against gold labels (None where one class is missing)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    labels = np.array([r.label for r in records])
    if len(set(labels.tolist())) < 2:
        return {"roc_auc": None, "pr_auc": None, "brier": None}
    return {"roc_auc": float(roc_auc_score(labels, scores)), "pr_auc": float(average_precision_score(labels, scores)),
            "brier": float(brier_score_loss(labels, scores))}


def save_prompted_teacher(model: PromptedTeacher, out: str | Path, *, data: str,
                          evaluate_on: Sequence[Record] = (), lineage: dict[str, Any] | None = None):
    """Save a fitted prompted teacher with ``save_model(kind="teacher")``; ``evaluate_on`` (e.g. the
    validation split) adds its quality to the manifest and card."""
    from moderation.artifacts import save_model
    from moderation.scoring import score_texts

    metrics: dict[str, Any] = {**model.fit_info}
    metrics.pop("pool_fingerprint", None)
    metrics.pop("calibration_fingerprint", None)
    if evaluate_on:
        scores = score_texts(model, [r.text for r in evaluate_on])
        metrics.update({f"eval_{k}": v for k, v in quality(scores, evaluate_on).items()}, eval_rows=len(evaluate_on))
    notes = (f"A prompted teacher: no weights were trained. `{model.strategy.name}` prompts with exemplars from "
             f"{len(model.pool):,} labeled training rows of `{data}`; raw margins are Platt-calibrated on "
             f"{model.fit_info['calibration_rows']} other training rows. `eval_*` metrics are on the rows given "
             "to evaluate (the validation split by default), never on the exemplars or the calibration sample.")
    return save_model(model, out, kind="teacher", params=model.params,
                      data_fingerprint=model.fit_info["pool_fingerprint"], metrics=metrics,
                      lineage={"data": data, **(lineage or {})}, notes=notes)

