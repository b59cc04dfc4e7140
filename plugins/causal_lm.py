"""A promptable teacher from any local causal language model: the next-token odds of the two label words."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.encoders import quiet_transformers
from moderation.exemplars import LABELS, PromptError
from moderation.prompting import PromptedTeacher
from moderation.protocols import Prompt


def label_token_ids(tokenizer: Any, prefix: str) -> tuple[int, int]:
    """The first token of each label word as it would follow the prompt (``prefix`` + word); they must differ."""
    ids = [tokenizer(prefix + word, add_special_tokens=False)["input_ids"] for word in LABELS]
    if not all(ids) or ids[0][0] == ids[1][0]:
        raise PromptError(f"the tokenizer starts {LABELS[0]!r} and {LABELS[1]!r} (after {prefix!r}) with the same "
                          "token, so the next-token probabilities cannot tell them apart; use another checkpoint")
    return ids[0][0], ids[1][0]


class CausalLMTeacher(PromptedTeacher):
    """Any local causal LM (--base PATH): next-token odds of 'toxic' vs 'non-toxic' after the prompt."""

    name = "causal-lm"

    def __init__(self, strategy: str = "zero-shot", strategy_params: dict[str, Any] | None = None,
                 calibration_size: int = 300, seed: int = 0, base: str | None = None,
                 label_prefix: str = " ", batch_size: int = 8) -> None:
        if base is None:
            raise PromptError("causal-lm needs --base PATH: the folder of a local causal LM checkpoint "
                              "(config.json, weights and tokenizer); nothing can be downloaded here")
        super().__init__(strategy, strategy_params, calibration_size, seed)
        self.base, self.label_prefix, self.batch_size = str(base), label_prefix, batch_size
        self.model, self.tokenizer = self._load(Path(base))
        self.label_ids = label_token_ids(self.tokenizer, label_prefix)
        self.max_tokens = int(getattr(self.model.config, "max_position_embeddings", None)
                              or getattr(self.model.config, "n_positions", 1024))

    @staticmethod
    def _load(path: Path) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from moderation.encoders import resolve_base, use_all_cores

        resolve_base(path)  # a clear error for a folder that is not a checkpoint
        quiet_transformers()
        use_all_cores()
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        except (OSError, ValueError, KeyError) as exc:
            raise PromptError(f"--base {path}: not a causal language model checkpoint with a tokenizer "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
        return model, tokenizer

    @property
    def teacher_params(self) -> dict[str, Any]:
        return {"base": self.base, "label_prefix": self.label_prefix, "batch_size": self.batch_size}

    def raw_scores(self, texts: Sequence[str], prompts: Sequence[Prompt]) -> np.ndarray:
        """log P(toxic) - log P(non-toxic) for the next token after each rendered prompt."""
        import torch

        rendered = [p.render() for p in prompts]
        ids = self.tokenizer(rendered, add_special_tokens=False)["input_ids"]
        if any(len(seq) > self.max_tokens for seq in ids):
            warnings.warn(f"{self.name}: some prompts are longer than the model's {self.max_tokens} positions; "
                          "their start (instruction, first exemplars) was cut. Lower --k.", stacklevel=2)
        ids = [seq[-self.max_tokens:] for seq in ids]  # the end holds the comment and the label slot
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        margins = np.empty(len(ids))
        order = np.argsort([len(s) for s in ids], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(ids), self.batch_size):
                idx = order[start:start + self.batch_size]
                lengths = torch.tensor([len(ids[i]) for i in idx])
                # right padding: real tokens never attend to pads, and keep positions 0..n-1
                batch = torch.full((len(idx), int(lengths.max())), pad, dtype=torch.long)
                mask = torch.zeros_like(batch)
                for row, i in enumerate(idx):
                    batch[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                logits = self.model(input_ids=batch, attention_mask=mask).logits
                last = torch.log_softmax(logits[torch.arange(len(idx)), lengths - 1].float(), dim=-1)
                margins[idx] = (last[:, self.label_ids[1]] - last[:, self.label_ids[0]]).numpy()
        return margins


@hookimpl
def register_teachers(register):
    register(CausalLMTeacher)
