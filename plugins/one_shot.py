"""The one-shot prompt strategy: one worked example before the comment."""

from __future__ import annotations

from moderation import hookimpl
from moderation.exemplars import FixedExemplarStrategy


class OneShot(FixedExemplarStrategy):
    """One labeled exemplar from the pool (its label drawn with the seed), the same for every comment."""

    name = "one-shot"
    fixed_k = 1


@hookimpl
def register_prompt_strategies(register):
    register(OneShot)
