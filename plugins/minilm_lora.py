"""A transformer teacher: a local encoder (all-MiniLM-L6-v2 by default) fine-tuned with LoRA on soft labels."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from moderation import hookimpl
from moderation.artifacts import file_sha256
from moderation.encoders import classifier_probabilities, quiet_transformers, resolve_base, use_all_cores
from moderation.protocols import Record
from moderation.tables import InputError

CONFIG_FILE = "teacher.json"
ADAPTER_DIR = "adapter"
CHECKPOINT = "last.pt"


@dataclass
class LoraSettings:
    """Everything that shapes training; a checkpoint resumes only under the same settings."""

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.1
    target_modules: tuple[str, ...] = ("query", "key", "value", "dense")
    learning_rate: float = 5e-4
    batch_size: int = 16
    max_steps: int = 800
    warmup_steps: int = 50
    weight_decay: float = 0.01
    max_length: int = 128
    eval_every: int = 100
    eval_rows: int = 1000
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class TrainState:
    step: int = 0
    best_auc: float = -1.0
    best_step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def base_signature(base: Path) -> dict[str, Any]:
    """Identifies a base checkpoint: its architecture and a hash of its weights file."""
    config = json.loads((base / "config.json").read_text())
    weights = next((base / n for n in ("model.safetensors", "pytorch_model.bin") if (base / n).is_file()), None)
    return {"model_type": config.get("model_type"), "hidden_size": config.get("hidden_size"),
            "num_hidden_layers": config.get("num_hidden_layers"), "vocab_size": config.get("vocab_size"),
            "weights_sha256": file_sha256(weights) if weights else None}


def check_classifier_base(base: Path) -> None:
    """Fail before any long work if ``base`` cannot carry a sequence-classification head."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(base)
    except (OSError, ValueError) as exc:
        raise InputError(f"--base {base}: cannot read its config ({exc})") from exc
    if config.model_type not in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES:
        raise InputError(f"--base {base}: model type {config.model_type!r} has no sequence-classification "
                         "head in transformers; use an encoder checkpoint (BERT, MiniLM, MPNet, RoBERTa, ...)")


class MiniLMLoraTeacher:
    """Transformer encoder (all-MiniLM-L6-v2 by default) + LoRA, fine-tuned on soft toxicity targets."""

    name = "minilm-lora"

    def __init__(self, base: str | Path | None = None, **settings: Any) -> None:
        if "target_modules" in settings:
            settings["target_modules"] = tuple(settings["target_modules"])
        self.settings = LoraSettings(**settings)
        self.base = resolve_base(base)
        self.base_is_default = base is None
        check_classifier_base(self.base)
        self.model: Any = None
        self.tokenizer: Any = None
        self.state = TrainState()

    # -- model -------------------------------------------------------------------------------------------
    def _build(self) -> None:
        import torch
        from peft import LoraConfig, TaskType, get_peft_model
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        quiet_transformers()
        torch.manual_seed(self.settings.seed)
        self.tokenizer = AutoTokenizer.from_pretrained(self.base)
        model = AutoModelForSequenceClassification.from_pretrained(self.base, num_labels=1)
        s = self.settings
        config = LoraConfig(task_type=TaskType.SEQ_CLS, r=s.rank, lora_alpha=s.alpha, lora_dropout=s.dropout,
                            target_modules=list(s.target_modules))
        self.model = get_peft_model(model, config)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters()) if self.model is not None else 0

    def _trainable(self) -> dict[str, Any]:
        return {k: v.detach().clone() for k, v in self.model.named_parameters() if v.requires_grad}

    def _restore(self, trainable: dict[str, Any]) -> None:
        import torch

        with torch.no_grad():
            params = dict(self.model.named_parameters())
            for name, value in trainable.items():
                params[name].copy_(value)

    # -- training ----------------------------------------------------------------------------------------
    @property
    def best_validation_auc(self) -> float | None:
        return self.state.best_auc if self.state.best_auc >= 0 else None

    def fit(self, train: Sequence[Record], validation: Sequence[Record], *,
            checkpoint_dir: Path | None = None) -> MiniLMLoraTeacher:
        """Fine-tune on ``train`` soft targets; keep the adapter with the best validation AUC.

        With ``checkpoint_dir``, the state is saved at every evaluation and a later call with the same
        settings resumes from it.
        """
        import torch
        from transformers import get_linear_schedule_with_warmup

        _check_training_data(train, validation)
        use_all_cores()
        self._build()
        s = self.settings
        texts = [r.text for r in train]
        targets = torch.tensor([r.toxicity for r in train], dtype=torch.float32)
        encoded = self.tokenizer(texts, truncation=True, max_length=s.max_length)["input_ids"]
        holdout = _eval_sample(validation, s.eval_rows)
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=s.learning_rate, weight_decay=s.weight_decay)
        schedule = get_linear_schedule_with_warmup(optimizer, s.warmup_steps, s.max_steps)
        rng = np.random.default_rng(s.seed)
        best = self._trainable()
        resumed = _load_checkpoint(checkpoint_dir, s)
        if resumed is not None:
            self._restore(resumed["current"])
            optimizer.load_state_dict(resumed["optimizer"])
            schedule.load_state_dict(resumed["schedule"])
            rng.bit_generator.state = resumed["rng"]
            torch.set_rng_state(resumed["torch_rng"])
            self.state, best = TrainState(**resumed["state"]), resumed["best"]
        order: list[int] = resumed["order"] if resumed else []
        self.model.train()
        bar = tqdm(total=s.max_steps, initial=self.state.step, desc="teacher", unit=" step", disable=None)
        while self.state.step < s.max_steps:
            if len(order) < s.batch_size:
                order = order + rng.permutation(len(texts)).tolist()
            batch, order = order[: s.batch_size], order[s.batch_size:]
            inputs = self.tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            logits = self.model(**inputs).logits.squeeze(-1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            self.state.step += 1
            bar.update()
            if self.state.step % s.eval_every == 0 or self.state.step == s.max_steps:
                auc = self._evaluate(holdout)
                self.state.history.append({"step": self.state.step, "loss": loss.item(), "val_auc": auc})
                if auc > self.state.best_auc:
                    self.state.best_auc, self.state.best_step, best = auc, self.state.step, self._trainable()
                bar.set_postfix(loss=f"{loss.item():.3f}", val_auc=f"{auc:.4f}", best=f"{self.state.best_auc:.4f}")
                _save_checkpoint(checkpoint_dir, s, {
                    "current": self._trainable(), "best": best, "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(), "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(), "state": asdict(self.state), "order": order})
                self.model.train()
        bar.close()
        self._restore(best)
        self.model.eval()
        return self

    def _evaluate(self, records: Sequence[Record]) -> float:
        from sklearn.metrics import roc_auc_score  # here, not at the top: every command imports this plugin

        scores = self.score([r.text for r in records])
        return float(roc_auc_score([r.label for r in records], scores))

    # -- scoring -----------------------------------------------------------------------------------------
    def score(self, texts: Sequence[str]) -> np.ndarray:
        return classifier_probabilities(self.model, self.tokenizer, list(texts), self.settings.max_length)

    # -- persistence -------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        self.model.save_pretrained(directory / ADAPTER_DIR)
        config = {"settings": asdict(self.settings), "base": None if self.base_is_default else str(self.base),
                  "base_signature": base_signature(self.base), "training": asdict(self.state)}
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, directory: Path) -> MiniLMLoraTeacher:
        from peft import PeftModel
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        directory = Path(directory)
        config = json.loads((directory / CONFIG_FILE).read_text())
        teacher = cls(config["base"], **config["settings"])
        found = base_signature(teacher.base)
        if found != config["base_signature"]:
            differs = sorted(k for k in found if found[k] != config["base_signature"].get(k))
            raise InputError(f"{directory}: the adapter was trained on another base than {teacher.base} "
                             f"(differs in {', '.join(differs)}); give the original base checkpoint")
        quiet_transformers()
        use_all_cores()
        teacher.tokenizer = AutoTokenizer.from_pretrained(teacher.base)
        model = AutoModelForSequenceClassification.from_pretrained(teacher.base, num_labels=1)
        # Merging the low-rank update into the base weights makes inference as fast as the plain encoder.
        teacher.model = PeftModel.from_pretrained(model, directory / ADAPTER_DIR).merge_and_unload().eval()
        teacher.state = TrainState(**{k: v for k, v in config["training"].items()})
        return teacher


def _check_training_data(train: Sequence[Record], validation: Sequence[Record]) -> None:
    if not train:
        raise InputError("the training split is empty: nothing to fine-tune on (check --data, --limit, --labeled)")
    if len({r.label for r in validation}) < 2:
        raise InputError("the validation split needs toxic and non-toxic rows to pick the best checkpoint "
                         f"(it has {len(validation)} rows)")
    if any(not math.isfinite(r.toxicity) for r in train):
        raise InputError("some training rows have no label (unlabeled split?): a teacher trains on gold labels")


def _eval_sample(validation: Sequence[Record], rows: int) -> list[Record]:
    """A fixed, hash-chosen subset of validation for checkpoint selection (full validation is slow on CPU)."""
    if len(validation) <= rows:
        return list(validation)
    ranked = sorted(validation, key=lambda r: hashlib.sha256(r.text.encode()).digest())
    return ranked[:rows]


def _load_checkpoint(directory: Path | None, settings: LoraSettings) -> dict[str, Any] | None:
    import torch

    if directory is None or not (directory / CHECKPOINT).is_file():
        return None
    try:
        # weights_only: tensors and plain values only, so a planted checkpoint cannot run code
        state = torch.load(directory / CHECKPOINT, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError or others for a bad file
        raise InputError(f"{directory / CHECKPOINT} is not a checkpoint this teacher can resume from safely "
                         f"({type(exc).__name__}); delete it to train from the start") from exc
    return state if state.get("key") == settings.key() else None


def _save_checkpoint(directory: Path | None, settings: LoraSettings, state: dict[str, Any]) -> None:
    import torch

    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{CHECKPOINT}.tmp"
    torch.save({**state, "key": settings.key()}, tmp)
    os.replace(tmp, directory / CHECKPOINT)


@hookimpl
def register_teachers(register):
    register(MiniLMLoraTeacher)

