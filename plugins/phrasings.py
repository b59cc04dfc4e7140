"""Phrasings: unlabelled sentences that put one claim about a group in many framings, for a transfer set.

A small student distilled on the behaviour set passes every negated-attack template it trained on and about
three in four of the held-out ones: it memorises the templates. The cure distillation offers is more input, not more
labels: here each claim is said plainly, with its predicate negated, rejected, reported and asked about,
every row goes to the ``unlabeled`` split, and the teacher's score is the only target. Rows that share a
run of four words with a held-out behaviour template are dropped, so these rows cannot teach the phrasings
the behaviour audit tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from moderation import hookimpl
from moderation.artifacts import file_sha256
from moderation.data import UNLABELED, SplitPlan, content_id, make_record
from moderation.protocols import Record
from moderation_plugins.behaviour import TEMPLATES as BEHAVIOUR
from moderation_plugins.behaviour import template_role

PHRASINGS = Path(__file__).with_name("data") / "phrasings.json"
RUN = 4  # words in a row that a generated sentence may not share with a held-out behaviour template
T = TypeVar("T")
_WORD = re.compile(r"\{\w+\}|[\w']+")


def runs(template: str, length: int = RUN) -> set[tuple[str, ...]]:
    """Every run of ``length`` words of a template (the whole of a shorter one), its slots ({group},
    {adj}, ...) read as one word, ``<slot>``."""
    words = ["<slot>" if w.startswith("{") else w for w in _WORD.findall(template.casefold())]
    return {tuple(words[i : i + length]) for i in range(max(1, len(words) - length + 1))}


def held_out_runs(behaviour: dict[str, Any]) -> dict[int, set[tuple[str, ...]]]:
    """The word runs of the behaviour templates held out for validation and test, by their length (RUN, or
    fewer for a shorter template)."""
    banned: dict[int, set[tuple[str, ...]]] = {}
    for body in behaviour["categories"].values():
        for i, template in enumerate(body["templates"]):
            if template_role(i) != "train":
                for run in runs(template):
                    banned.setdefault(len(run), set()).add(run)
    return banned


def shares_a_run(template: str, banned: dict[int, set[tuple[str, ...]]]) -> bool:
    return any(runs(template, length) & found for length, found in banned.items())


def templates(spec: dict[str, Any]) -> Iterator[str]:
    """Every sentence template, in a fixed order: claims in each framing, verbs aimed at a group, persons."""
    for affirmed, negated in spec["predicates"]:
        for frame in spec["clause_frames"]["plain"]:
            yield frame.replace("{c}", "{group} " + affirmed)
            yield frame.replace("{c}", "{group} " + negated)
        for frame in spec["clause_frames"]["rejecting"] + spec["clause_frames"]["asking"]:
            yield frame.replace("{c}", "{group} " + affirmed)
    for verb in spec["verbs"]:
        for frame in spec["verb_frames"]:
            yield frame.replace("{v}", verb)
    yield from spec["person_templates"]


def fill(spec: dict[str, Any], identities: list[list[str]], banned: dict[int, set[tuple[str, ...]]],
         templated: Iterable[tuple[str, T]]) -> Iterator[tuple[str, T]]:
    """(sentence, what came with its template): each group template filled with a few groups, each person
    template with a few names; a template that shares a run with a held-out behaviour template is dropped."""
    names, k = spec["names"], spec["groups_per_template"]
    for t, (template, extra) in enumerate(templated):
        if shares_a_run(template, banned):
            continue
        for j in range(k):
            adj, plural, _ = identities[(t * 7 + j * 15) % len(identities)]
            name = names[(t * 11 + j * 37) % len(names)]
            text = template.replace("{group}", plural).replace("{adj}", adj).replace("{name}", name)
            yield text[0].upper() + text[1:], extra


def generate(spec: dict[str, Any], identities: list[list[str]],
             banned: dict[int, set[tuple[str, ...]]]) -> Iterator[str]:
    """The sentences: each group template filled with a few groups, each person template with a few names."""
    return (text for text, _ in fill(spec, identities, banned, ((t, None) for t in templates(spec))))


class PhrasingsDataset:
    """About 6,000 generated sentences, all unlabelled: a teacher's scores are their only targets."""

    name = "phrasings"
    license = "MIT (written for this project)"
    split_plan = SplitPlan(assign=lambda record: UNLABELED)

    def __init__(self, data_dir: str | Path | None = None, path: str | Path = PHRASINGS) -> None:
        self.path = Path(path)

    def present(self) -> bool:
        return self.path.is_file() and BEHAVIOUR.is_file()

    def records(self) -> Iterator[Record]:
        spec = json.loads(self.path.read_text(encoding="utf-8"))
        behaviour = json.loads(BEHAVIOUR.read_text(encoding="utf-8"))
        for text in dict.fromkeys(generate(spec, behaviour["identities"], held_out_runs(behaviour))):
            # 0.0 is a placeholder: every row is in the unlabeled split, whose labels the loader hides
            yield make_record(content_id("phrasings", text), text, 0.0, source=self.name)

    def version(self) -> str:
        return f"{file_sha256(self.path)[:12]}-{file_sha256(BEHAVIOUR)[:12]}"


@hookimpl
def register_datasets(register):
    register(PhrasingsDataset)
