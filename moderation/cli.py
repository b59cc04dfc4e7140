"""The `moderation` command line. Each verb lives in its own module under ``moderation/commands``.

Verbs are imported only when one runs: `moderation --help` and shell completion list them from ``VERBS``
without importing pandas, scipy, scikit-learn or torch (a test checks that each summary matches its
command's own first docstring line)."""

from __future__ import annotations

import importlib
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from click.shell_completion import CompletionItem

from moderation import __version__

VERBS = {
    "audit": "Audit a model for bias on held-out identity slices and write a report folder.",
    "data": "Data sets, splits and held-out identity slices.",
    "distill": "Distill STUDENT from TEACHER on DATA; evaluate on its test split; save to OUT with manifest and card.",
    "evaluate": "Measure MODEL on one split of DATA.",
    "label": "Score one split of DATA with MODEL (a teacher, prompted or fine-tuned) into a parquet file of id, "
             "text, text_hash, score, model_fingerprint.",
    "models": "Saved models: the shipped default, the models folder, any path.",
    "plugins": "List every installed plugin, and any that failed to load.",
    "prompt": "Prompt strategies (zero-, one-, few-shot, k-NN few-shot) for promptable teachers.",
    "score": "Score one TEXT ('-' reads one text per line from stdin), or a whole file with --input and --out.",
    "serve": "Serve the web app on HOST:PORT with the shipped default student or --model.",
    "teacher": "Teachers: large, slow, accurate scorers that label data offline.",
    "token": "API tokens for POST /api/v1/moderate (only their hashes are stored).",
    "user": "Moderator accounts (passwords are stored as salted hashes).",
}


class LazyGroup(click.Group):
    """A group whose verbs are imported from ``moderation.commands.<verb>`` when first used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VERBS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in VERBS:
            return None
        return importlib.import_module(f"moderation.commands.{name}").command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, _short(VERBS[name], formatter.width)) for name in self.list_commands(ctx)])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        verbs = [CompletionItem(name, help=VERBS[name]) for name in self.list_commands(ctx)
                 if name.startswith(incomplete)]
        return verbs + super(click.Group, self).shell_complete(ctx, incomplete)  # options, without the imports


def _short(text: str, width: Any) -> str:
    limit = max((width or 80) - 14, 30)
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."


def _one_line(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    click.echo(f"Warning: {message}", err=True)


@contextmanager
def output_settings(verbose: int, quiet: bool) -> Iterator[None]:
    """-q: results and errors only; default: one-line warnings; -v: library logs and full warnings (-vv: debug).

    Undone when the command ends, so that a process running several commands (tests, notebooks) keeps
    its own warning filters, logging and environment."""
    root, handler, level = logging.getLogger(), logging.StreamHandler(), logging.getLogger().level
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    tqdm_disable = os.environ.get("TQDM_DISABLE")
    with warnings.catch_warnings():
        if quiet:
            os.environ["TQDM_DISABLE"] = "1"  # tqdm reads it when each bar starts
            warnings.simplefilter("ignore")
        elif not verbose:
            warnings.showwarning = _one_line
        root.addHandler(handler)
        root.setLevel(logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
            if quiet and tqdm_disable is None:
                os.environ.pop("TQDM_DISABLE", None)
            elif quiet:
                os.environ["TQDM_DISABLE"] = tqdm_disable


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="moderation")
@click.option("-v", "--verbose", count=True, help="More output: library logs and full warnings (-vv: debug logs).")
@click.option("-q", "--quiet", is_flag=True, help="Results and errors only: no progress bars, no warnings.")
def main(verbose: int, quiet: bool) -> None:
    """Toxicity moderation with knowledge distillation: teachers, students, prompts, audits.

    Shell completion (bash): eval "$(_MODERATION_COMPLETE=bash_source moderation)"; zsh and fish
    likewise with zsh_source and fish_source."""
    click.get_current_context().with_resource(output_settings(verbose, quiet))
