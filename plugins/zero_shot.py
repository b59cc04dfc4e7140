"""The zero-shot prompt strategy: the instruction and the comment, no worked examples."""

from __future__ import annotations

from moderation import hookimpl
from moderation.prompting import ExemplarStrategy


class ZeroShot(ExemplarStrategy):
    """Instruction only, no exemplars: the model must know what the labels mean on its own."""

    name = "zero-shot"
    fixed_k = 0


@hookimpl
def register_prompt_strategies(register):
    register(ZeroShot)
