"""The zero-shot prompt strategy: the instruction and the comment, no worked examples."""

from __future__ import annotations

from collections.abc import Sequence

from moderation import hookimpl
from moderation.exemplars import ExemplarPool, ExemplarStrategy
from moderation.protocols import Record


class ZeroShot(ExemplarStrategy):
    """Instruction only, no exemplars: the model must know what the labels mean on its own."""

    name = "zero-shot"
    fixed_k = 0

    def select(self, queries: Sequence[str], pool: ExemplarPool) -> list[list[Record]]:
        return [[] for _ in queries]


@hookimpl
def register_prompt_strategies(register):
    register(ZeroShot)
