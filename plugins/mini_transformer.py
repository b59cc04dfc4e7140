"""A small transformer student: the first layers of the teacher's encoder, distilled on its logits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from moderation import hookimpl
from moderation.encoders import classifier_probabilities, quiet_transformers, resolve_base, use_all_cores
from moderation.errors import InputError
from moderation.scoring import check_targets

WEIGHTS_FILE = "mini_transformer.pt"
CONFIG_FILE = "mini_transformer.json"
LOSSES = ("logit-mse", "bce")


class MiniTransformerStudent:
    """The encoder cut to its first layers (2 of 6 by default), distilled on the teacher's logits."""

    name = "mini-transformer"

    def __init__(self, base: str | Path | None = None, layers: int = 2, max_steps: int = 600, batch_size: int = 32,
                 learning_rate: float = 1e-4, max_length: int = 64, loss: str = "logit-mse", seed: int = 0) -> None:
        if loss not in LOSSES:
            raise InputError(f"loss {loss!r} is not one of {', '.join(LOSSES)}")
        self.params = {"base": None if base is None else str(base), "layers": layers, "max_steps": max_steps,
                       "batch_size": batch_size, "learning_rate": learning_rate, "max_length": max_length,
                       "loss": loss, "seed": seed}
        self.base = resolve_base(base)
        self.model, self.tokenizer = _truncated_classifier(self.base, layers, seed)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def fit(self, texts: Sequence[str], soft_targets: Sequence[float],
            sample_weight: Sequence[float] | None = None) -> MiniTransformerStudent:
        import torch

        targets = check_targets(texts, soft_targets)
        use_all_cores()
        p = self.params
        torch.manual_seed(p["seed"])
        rng = np.random.default_rng(p["seed"])
        encoded = self.tokenizer(list(texts), truncation=True, max_length=p["max_length"])["input_ids"]
        probs = torch.tensor(targets).clamp(1e-4, 1 - 1e-4).float()
        teacher_logits = torch.logit(probs)
        weight = torch.ones(len(targets)) if sample_weight is None else torch.tensor(sample_weight).float()
        trainable = [q for q in self.model.parameters() if q.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=p["learning_rate"], weight_decay=0.01)
        self.model.train()
        order: list[int] = []
        for _ in tqdm(range(p["max_steps"]), desc="mini-transformer", unit=" step", disable=None):
            if len(order) < p["batch_size"]:
                order += rng.permutation(len(targets)).tolist()
            batch, order = order[: p["batch_size"]], order[p["batch_size"]:]
            inputs = self.tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            logits = self.model(**inputs).logits.squeeze(-1)
            if p["loss"] == "logit-mse":  # match the teacher's logits: keeps how sure it was, not just which side
                losses = (logits - teacher_logits[batch]) ** 2
            else:
                losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, probs[batch], reduction="none")
            loss = (losses * weight[batch]).sum() / weight[batch].sum()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
        self.model.eval()
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return classifier_probabilities(self.model, self.tokenizer, list(texts), self.params["max_length"])

    def save(self, directory: Path) -> None:
        import torch

        # The embeddings stay frozen at the base's values, so only the trained layers and head are saved
        # (in half precision); load() takes the embeddings from the base checkpoint again.
        state = {k: v.half() for k, v in self.model.state_dict().items() if ".embeddings." not in k}
        torch.save(state, Path(directory) / WEIGHTS_FILE)
        (Path(directory) / CONFIG_FILE).write_text(json.dumps(self.params))

    @classmethod
    def load(cls, directory: Path) -> MiniTransformerStudent:
        import torch

        student = cls(**json.loads((Path(directory) / CONFIG_FILE).read_text()))
        state = torch.load(Path(directory) / WEIGHTS_FILE, weights_only=True)
        missing, unexpected = student.model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        if unexpected or any(".embeddings." not in k for k in missing):
            raise ValueError(f"{directory}: weights do not fit the base (missing {missing}, unexpected {unexpected})")
        student.model.eval()
        return student


def _truncated_classifier(base: Path, layers: int, seed: int) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    quiet_transformers()
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    encoder = model.base_model.encoder
    if not 1 <= layers <= len(encoder.layer):
        raise InputError(f"layers must be between 1 and {len(encoder.layer)} for {base}")
    encoder.layer = encoder.layer[:layers]
    model.config.num_hidden_layers = layers
    for parameter in model.base_model.embeddings.parameters():
        parameter.requires_grad = False
    return model, AutoTokenizer.from_pretrained(base)


@hookimpl
def register_students(register):
    register(MiniTransformerStudent)
