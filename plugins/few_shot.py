"""The few-shot prompt strategy: k worked examples, balanced across labels, before the comment."""

from __future__ import annotations

from moderation import hookimpl
from moderation.exemplars import FixedExemplarStrategy


class FewShot(FixedExemplarStrategy):
    """k labeled exemplars (default 8), half toxic and half not, drawn once with the seed for every comment."""

    name = "few-shot"
    default_k = 8


@hookimpl
def register_prompt_strategies(register):
    register(FewShot)
