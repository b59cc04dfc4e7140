"""The `moderation` command line. Each verb lives in its own module under ``moderation/commands``."""

from __future__ import annotations

import click

from moderation import __version__
from moderation.commands import (
    audit,
    data,
    distill,
    evaluate,
    label,
    plugins,
    prompt,
    score,
    serve,
    teacher,
    token,
    user,
)


@click.group()
@click.version_option(__version__, prog_name="moderation")
def main() -> None:
    """Toxicity moderation with knowledge distillation: teachers, students, prompts, audits."""


for _verb in (audit, data, distill, evaluate, label, plugins, prompt, score, serve, teacher, token, user):
    main.add_command(_verb.command)
