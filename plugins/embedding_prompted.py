"""A promptable teacher from sentence embeddings: similarity to label descriptions and labeled exemplars."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.embeddings import get_encoder
from moderation.errors import InputError
from moderation.exemplars import LABELS
from moderation.prompting import PromptedTeacher
from moderation.protocols import Prompt

DESCRIPTIONS = {
    "non-toxic": ["a friendly, polite or neutral comment",
                  "an ordinary message about everyday life, sports, music or the news"],
    "toxic": ["an insulting, hateful or obscene comment",
              "a message full of slurs, profanity and abuse aimed at someone"],
}


class EmbeddingPromptedTeacher(PromptedTeacher):
    """all-MiniLM-L6-v2 similarity to label descriptions and to the prompt's exemplars, Platt-calibrated."""

    name = "embedding-prompted"

    def __init__(self, strategy: str = "zero-shot", strategy_params: dict[str, Any] | None = None,
                 calibration_size: int = 300, seed: int = 0, base: str | None = None,
                 descriptions: dict[str, list[str]] | None = None, encoder_fingerprint: str | None = None) -> None:
        super().__init__(strategy, strategy_params, calibration_size, seed)
        self.base = None if base is None else str(base)
        self.descriptions = {k: list(v) for k, v in (descriptions or DESCRIPTIONS).items()}
        if sorted(self.descriptions) != sorted(LABELS) or not all(self.descriptions.values()):
            raise InputError(f"descriptions need at least one text for each label {list(LABELS)}, "
                             f"got {sorted(self.descriptions)}")
        self.encoder = get_encoder(self.base)
        if encoder_fingerprint not in (None, self.encoder.fingerprint):
            warnings.warn(f"{self.name}: the encoder {self.encoder.path} differs from the one this teacher was "
                          "calibrated with; its scores will differ from the saved model's", stacklevel=2)

    @property
    def teacher_params(self) -> dict[str, Any]:
        return {"base": self.base, "descriptions": self.descriptions,
                "encoder_fingerprint": self.encoder.fingerprint}

    def raw_scores(self, texts: Sequence[str], prompts: Sequence[Prompt]) -> np.ndarray:
        """Mean cosine similarity to the toxic references minus that to the non-toxic ones, where a label's
        references are its descriptions plus the prompt's exemplars with that label."""
        queries = self.encoder.embed(texts)
        described = [self.encoder.embed(self.descriptions[label]) for label in LABELS]
        shot_texts = list(dict.fromkeys(e.text for p in prompts for e in p.exemplars))
        shots = dict(zip(shot_texts, self.encoder.embed(shot_texts), strict=True)) if shot_texts else {}
        margins = np.empty(len(texts))
        for i, prompt in enumerate(prompts):
            sims = []
            for label, desc in zip(LABELS, described, strict=True):
                refs = [desc, *(shots[e.text][None] for e in prompt.exemplars if e.label == label)]
                sims.append(float(np.concatenate(refs).dot(queries[i]).mean()))
            margins[i] = sims[1] - sims[0]
        return margins


@hookimpl
def register_teachers(register):
    register(EmbeddingPromptedTeacher)


