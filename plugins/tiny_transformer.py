"""A tiny word-order-aware student: a small transformer over the base encoder's frozen word embeddings.

Bag-of-n-gram students cannot tell "Muslims are animals" from "saying Muslims are animals is wrong";
the teacher's own layers can, but cost milliseconds each on a CPU. This student keeps the base
encoder's tokenizer and word embeddings (frozen, read from the installed base checkpoint, so they are
not part of its files), projects them to a narrow width and runs two small attention layers trained
from scratch on the teacher's scores: word order at a fraction of a millisecond per comment.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from moderation import hookimpl
from moderation.encoders import resolve_base
from moderation.errors import InputError
from moderation.scoring import check_targets

WEIGHTS_FILE = "tiny_transformer.safetensors"
CONFIG_FILE = "tiny_transformer.json"
LOSSES = ("bce", "logit-mse")
# How a comment longer than max_length tokens is scored: its first window alone, or the mean or the highest
# score of overlapping windows that cover it all (each overlaps the next by half).
LONG_TEXT = ("truncate", "window-mean", "window-max")


class TinyTransformerStudent:
    """Frozen base word embeddings -> projection -> ``layers`` attention layers of width ``dim`` ->
    mean and max pooling -> one logit."""

    name = "tiny-transformer"

    def __init__(self, base: str | Path | None = None, dim: int = 192, layers: int = 2, heads: int = 4,
                 ffn: int = 512, dropout: float = 0.1, max_length: int = 64, max_steps: int = 4000,
                 batch_size: int = 64, learning_rate: float = 1e-3, loss: str = "bce", seed: int = 0,
                 long_text: str = "truncate") -> None:
        if loss not in LOSSES:
            raise InputError(f"loss {loss!r} is not one of {', '.join(LOSSES)}")
        if long_text not in LONG_TEXT:
            raise InputError(f"long_text {long_text!r} is not one of {', '.join(LONG_TEXT)}")
        if dim % heads:
            raise InputError(f"dim {dim} must be a multiple of heads {heads}")
        self.params = {"base": None if base is None else str(base), "dim": dim, "layers": layers, "heads": heads,
                       "ffn": ffn, "dropout": dropout, "max_length": max_length, "max_steps": max_steps,
                       "batch_size": batch_size, "learning_rate": learning_rate, "loss": loss, "seed": seed,
                       "long_text": long_text}
        self.base = resolve_base(base)
        self.tokenizer, embeddings = _base_parts(self.base)
        self.model = _network(embeddings, self.params)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def fit(self, texts: Sequence[str], soft_targets: Sequence[float],
            sample_weight: Sequence[float] | None = None) -> TinyTransformerStudent:
        import torch
        from transformers import get_cosine_schedule_with_warmup

        targets = check_targets(texts, soft_targets)
        p = self.params
        torch.manual_seed(p["seed"])
        rng = np.random.default_rng(p["seed"])
        ids = self.tokenizer(list(texts), truncation=True, max_length=p["max_length"])["input_ids"]
        probs = torch.tensor(targets).float()
        logits_target = torch.logit(probs.clamp(0.01, 0.99))
        weight = torch.ones(len(targets)) if sample_weight is None else torch.tensor(sample_weight).float()
        trainable = [q for q in self.model.parameters() if q.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=p["learning_rate"], weight_decay=0.01)
        schedule = get_cosine_schedule_with_warmup(optimizer, max(1, p["max_steps"] // 20), p["max_steps"])
        self.model.train()
        order: list[int] = []
        for _ in tqdm(range(p["max_steps"]), desc="tiny-transformer", unit=" step", disable=None):
            if len(order) < p["batch_size"]:
                order += rng.permutation(len(targets)).tolist()
            batch, order = order[: p["batch_size"]], order[p["batch_size"]:]
            inputs = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
            logits = self.model(inputs["input_ids"], inputs["attention_mask"])
            if p["loss"] == "bce":
                losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, probs[batch], reduction="none")
            else:
                losses = (logits - logits_target[batch]) ** 2
            loss = (losses * weight[batch]).sum() / weight[batch].sum()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
        self.model.eval()
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.empty(0)
        pieces, owner = self._pieces(texts)
        scores = self._score_pieces(pieces)
        if self.params["long_text"] == "window-max":
            out = np.full(len(texts), -np.inf)
            np.maximum.at(out, owner, scores)
            return out
        # "truncate" has one piece per text, so its mean is that piece's score
        return np.bincount(owner, scores, len(texts)) / np.bincount(owner, minlength=len(texts))

    def _pieces(self, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token ids to score, each within max_length, and the text each belongs to: a text's first window
        ("truncate"), or windows over all of it, each starting half a window after the one before."""
        width = self.params["max_length"] - 2  # room for the [CLS] and [SEP] ids
        step = width // 2
        ids = self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        first, last = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        pieces, owner = [], []
        for i, tokens in enumerate(ids):
            end = 1 if self.params["long_text"] == "truncate" else max(1, len(tokens) - width + step)
            for start in range(0, end, step):
                pieces.append([first, *tokens[start : start + width], last])
                owner.append(i)
        return pieces, np.array(owner, dtype=np.int64)

    def _score_pieces(self, pieces: list[list[int]]) -> np.ndarray:
        import torch

        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))  # similar lengths: less padding
        out = np.empty(len(pieces), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(order), 128):
                idx = order[start : start + 128]
                inputs = self.tokenizer.pad({"input_ids": [pieces[i] for i in idx]}, return_tensors="pt")
                logits = self.model(inputs["input_ids"], inputs["attention_mask"])
                out[idx] = torch.sigmoid(logits).double().numpy()
        return out

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        # The frozen embeddings come from the base at load; half precision halves the rest.
        state = {k: v.half().contiguous() for k, v in self.model.state_dict().items() if not k.startswith("words.")}
        save_file(state, str(Path(directory) / WEIGHTS_FILE))
        (Path(directory) / CONFIG_FILE).write_text(json.dumps(self.params))

    @classmethod
    def load(cls, directory: Path) -> TinyTransformerStudent:
        from safetensors.torch import load_file

        student = cls(**json.loads((Path(directory) / CONFIG_FILE).read_text()))
        state = load_file(str(Path(directory) / WEIGHTS_FILE))
        missing, unexpected = student.model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        if unexpected or any(not k.startswith("words.") for k in missing):
            raise ValueError(f"{directory}: weights do not fit (missing {missing}, unexpected {unexpected})")
        student.model.eval()
        return student


def _base_parts(base: Path) -> tuple[Any, Any]:
    """The base's tokenizer and its word-embedding matrix (read alone from its safetensors file)."""
    from safetensors import safe_open
    from transformers import AutoTokenizer

    weights = base / "model.safetensors"
    if not weights.is_file():
        raise InputError(f"{base}: no model.safetensors to take word embeddings from")
    with safe_open(str(weights), "pt") as fh:
        key = next((k for k in fh.keys() if k.endswith("word_embeddings.weight")), None)  # noqa: SIM118
        if key is None:
            raise InputError(f"{base}: model.safetensors holds no word embeddings")
        embeddings = fh.get_tensor(key).float()
    return AutoTokenizer.from_pretrained(base), embeddings


def _network(embeddings: Any, p: dict[str, Any]) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(p["seed"])

    class Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.words = nn.Embedding.from_pretrained(embeddings, freeze=True)
            self.project = nn.Linear(embeddings.shape[1], p["dim"])
            self.positions = nn.Embedding(p["max_length"], p["dim"])
            layer = nn.TransformerEncoderLayer(p["dim"], p["heads"], p["ffn"], p["dropout"], batch_first=True,
                                               activation="gelu")
            self.encoder = nn.TransformerEncoder(layer, p["layers"], enable_nested_tensor=False)
            self.norm = nn.LayerNorm(2 * p["dim"])
            self.head = nn.Linear(2 * p["dim"], 1)
            nn.init.normal_(self.positions.weight, std=1 / math.sqrt(p["dim"]))
            self.table: Any = None

        def train(self, mode: bool = True) -> Any:
            self.table = None  # the folded table is stale once the projection trains again
            return super().train(mode)

        def projected(self, ids: Any) -> Any:
            """The projected word vectors. Scoring looks them up in a table folded once from the frozen
            embeddings (exact: a linear map of a lookup is a lookup of the mapped table), which saves the
            projection's 384x``dim`` multiply per token, about a tenth of the student's arithmetic."""
            if self.training:
                return self.project(self.words(ids))
            if self.table is None:
                with torch.no_grad():
                    self.table = self.project(self.words.weight)
            return self.table[ids]

        def forward(self, ids: Any, mask: Any) -> Any:
            positions = torch.arange(ids.shape[1], device=ids.device)
            x = self.projected(ids) + self.positions(positions)
            x = self.encoder(x, src_key_padding_mask=mask == 0)
            keep = mask.unsqueeze(-1).to(x.dtype)
            mean = (x * keep).sum(1) / keep.sum(1).clamp(min=1)
            top = x.masked_fill(keep == 0, -1e4).max(1).values
            return self.head(self.norm(torch.cat([mean, top], -1))).squeeze(-1)

    return Network()


@hookimpl
def register_students(register):
    register(TinyTransformerStudent)
