"""The conformance kit (moderation.testing) on every registered built-in plugin, and on broken plugins
to show that it catches what it must."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.audit import make_audit
from moderation.data import get_dataset, load
from moderation.fairness import AuditSettings
from moderation.plugins import get_registry
from moderation.protocols import Record
from moderation.testing import (
    ConformanceError,
    check_audit,
    check_dataset,
    check_scorer,
    check_strategy,
    check_student,
)
from tests.conftest import SHARED_DATA

# Settings that keep each built-in student's check to seconds.
FAST = {"tfidf-lr": {}, "ngram-mlp": {"epochs": 3}, "mini-transformer": {"layers": 1, "max_steps": 20},
        "tiny-transformer": {"max_steps": 40, "dim": 32, "layers": 1, "ffn": 64}}
REGISTRY = get_registry()


def test_every_student_is_covered():
    assert set(REGISTRY.names("student")) == set(FAST)


@pytest.mark.parametrize("name", sorted(FAST))
def test_students_conform(name):
    check_student(lambda: REGISTRY.create("student", name, **FAST[name]), name=f"student {name!r}")


def _dataset_params(name: str, tmp_path) -> dict:
    """What the data sets that read the user's own data need: a file, a web app database."""
    if name == "user-file":
        (tmp_path / "mine.csv").write_text("text,toxicity\nyou idiot,0.9\nthanks a lot,0.0\n")
        return {"path": tmp_path / "mine.csv"}
    if name == "reviews":
        from moderation_web.store import NewComment, Store

        store = Store(f"sqlite:///{tmp_path / 'web.db'}")
        store.create_schema()
        [cid] = store.enqueue([NewComment("you idiot", 0.9, "review", "m", "api", "token:t")])
        store.decide(cid, "rejected", "mod", None)
        return {"database_url": store.url}
    return {}


@pytest.mark.parametrize("name", REGISTRY.names("dataset"))
def test_data_sets_conform(name, tmp_path):
    dataset = get_dataset(name, SHARED_DATA, **_dataset_params(name, tmp_path))
    if hasattr(dataset, "present") and not dataset.present():
        pytest.skip(f"{name}'s files are not in {SHARED_DATA} (set MODERATION_DATA_DIR)")
    check_dataset(dataset)


class Table:
    """A scorer over a fixed table of scores, so that audits are checked without training anything."""

    name = "table"

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def score(self, texts):
        return np.array([self.scores[t] for t in texts])

    def save(self, directory):
        pass

    @classmethod
    def load(cls, directory):
        raise NotImplementedError


def _slice(name: str) -> list[Record]:
    if name == "behaviour":
        return load("behaviour").split("audit", "audit")[:400]
    if name == "templates":
        return [r for r in load("bias-madlibs", SHARED_DATA, limit=3000).records][:600] if (
            SHARED_DATA / "bias_madlibs").is_dir() else []
    rng = np.random.default_rng(0)
    return [Record(id=f"r{i}", text=f"comment {i}", toxicity=float(i % 2), label=i % 2,
                   identities=(("a",), ("b",), ("a", "b"))[i % 3]) for i in range(int(rng.integers(90, 91)))]


@pytest.mark.parametrize("name", REGISTRY.names("audit"))
def test_audits_conform(name):
    records = _slice(name)
    if not records:
        pytest.skip(f"no template sentences in {SHARED_DATA} for the {name} audit")
    rng = np.random.default_rng(1)
    scorers = {m: Table({r.text: float(rng.random()) for r in records}) for m in ("model", "reference")}
    check_audit(make_audit(name, AuditSettings(min_slice=5)), scorers, records)


@pytest.mark.parametrize("name", REGISTRY.names("prompt_strategy"))
def test_prompt_strategies_conform(name):
    pool = load("demo", limit=300).split("train", "train")
    check_strategy(REGISTRY.create("prompt_strategy", name), pool)


# The kit catches what it must


class Forgetful:
    """Scores well, but loses what it learned when saved, and is not seeded."""

    name = "forgetful"

    def __init__(self):
        self.bias = np.random.default_rng().random()
        self.words: set[str] = set()

    def fit(self, texts, soft_targets, sample_weight=None):
        self.words = {w for t, y in zip(texts, soft_targets, strict=True) if y > 0.5 for w in t.split()}
        return self

    def score(self, texts):
        return np.array([min(1.0, 0.1 * self.bias + 0.8 * any(w in self.words for w in t.split())) for t in texts])

    def save(self, directory):
        pass

    @classmethod
    def load(cls, directory):
        return cls()


def test_the_kit_names_every_broken_rule():
    with pytest.raises(ConformanceError) as caught:
        check_student(Forgetful)
    message = str(caught.value)
    assert "save then load gives the same scores" in message
    assert "two fits with the same settings give the same scores" in message
    assert "fit refuses a NaN target with a ValueError" in message
    assert "student 'forgetful' breaks" in message


def test_a_scorer_returning_nan_is_caught():
    class Nan(Table):
        def score(self, texts):
            return np.full(len(texts), np.nan)

    with pytest.raises(ConformanceError, match=r"every score is a probability in \[0, 1\]"):
        check_scorer(Nan({}))


def test_the_host_reads_only_declared_optional_attributes():
    """Every ``optional(obj, kind, name)`` in the host names a declared attribute, and no host module probes
    plugin objects with getattr/hasattr behind the declarations' back."""
    import ast

    from moderation.protocols import OPTIONAL
    from tests.conftest import ROOT

    undeclared, probes = [], []
    for path in [*(ROOT / "moderation").rglob("*.py"), *(ROOT / "web").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            args = [a.value for a in node.args[1:] if isinstance(a, ast.Constant)]
            if node.func.id == "optional" and (len(args) != 2 or args[1] not in OPTIONAL.get(args[0], {})):
                undeclared.append(f"{path.name}:{node.lineno}")
            if node.func.id in ("getattr", "hasattr") and path.name not in ("testing.py", "settings.py", "store.py"):
                probes.append(f"{path.name}: {ast.unparse(node)}")
    assert undeclared == []
    assert sorted(probes) == sorted([  # the host's own objects, and members the protocols require
        "artifacts.py: getattr(manifest, f.name)", "artifacts.py: hasattr(info.factory, 'load')",
        "audit.py: getattr(fairness, name)", "prompting.py: getattr(module, name)",
        "data.py: getattr(self, kind)", "evaluation.py: hasattr(part, '__dataclass_fields__')",
        "plugins.py: getattr(cls, 'name', None)", "plugins.py: getattr(pm.hook, hook)", "plugins.py: getattr(r, c)",
        "protocols.py: getattr(obj, name, OPTIONAL[kind][name])"]), probes


def test_the_kit_checks_the_shape_of_optional_attributes():
    class Sloppy:
        name = "sloppy"
        gates = "final_bias_metric"  # a str, not a tuple of names: --fail-under would read its letters
        min_scorers = 0

        def run(self, scorers, slices):
            from moderation.protocols import AuditResult

            return AuditResult(summary={"final_bias_metric": 1.0})

    rows = load("demo").split("audit", "audit")[:40]
    with pytest.raises(ConformanceError) as caught:
        check_audit(Sloppy(), {"m": Table({r.text: 0.5 for r in rows})}, rows)
    assert "optional `gates` is a tuple of summary names" in str(caught.value)
    assert "optional `min_scorers` is an int >= 1" in str(caught.value)


def test_the_student_training_module_under_its_former_name_still_imports_with_a_warning():
    import importlib
    import sys

    from moderation.student_training import train_student

    sys.modules.pop("moderation.training", None)
    with pytest.warns(DeprecationWarning, match="moderation.training is now moderation.student_training"):
        old = importlib.import_module("moderation.training")
    assert old.train_student is train_student
