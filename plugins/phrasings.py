"""Phrasings: sentences that put one claim about a group in many framings, for a transfer set.

A small student distilled on the behaviour set passes every negated-attack template it trained on and about
three in four of the held-out ones: it memorises the templates. The cure distillation offers is more input:
here each claim is said plainly, asserted, negated, rejected, reported by someone and endorsed or rejected,
and asked about. A teacher that never saw them scores an attack inside an asserting frame as harmless ("My
whole family agrees that {group} are vermin": 2 % flagged), and its students learn that; so where the
construction decides the label (an attack asserted or rejected, praise denied, a violent verb asserted or
refused, a person insulted), the row carries it and sits in the train split; questions and the rest stay in
``unlabeled``. Labels on a dozen fixed frames taught the mirror shortcut (an attack predicate flags whatever
frames it), so frames are drawn from pools, a few per claim, and a reported claim comes as a pair that only
its closing words tell apart: no predicate and no frame alone decides the label. Rows that share a run of
four words with a held-out behaviour template are dropped, so these rows cannot teach the phrasings the
behaviour audit tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moderation import hookimpl
from moderation.artifacts import file_sha256
from moderation.data import UNLABELED, SplitPlan, content_id, make_record
from moderation.protocols import Record
from moderation_plugins.behaviour import TEMPLATES as BEHAVIOUR
from moderation_plugins.behaviour import template_role

PHRASINGS = Path(__file__).with_name("data") / "phrasings.json"
RUN = 4  # words in a row that a generated sentence may not share with a held-out behaviour template
# The label of a claim about a group, by the kind of its predicate and how it is put (None: not decided by
# the construction). Rejecting a claim says its negation, except for neutral ones ("It's a lie that they
# have a long history here" can be a slur), left to the teacher.
CLAIMS = {"attack": {"affirmed": 1.0, "negated": 0.0, "rejected": 0.0},
          "praise": {"affirmed": 0.0, "negated": 1.0, "rejected": 1.0},
          "neutral": {"affirmed": 0.0, "negated": None, "rejected": None}}
VERBS = {"violent": {"asserting": 1.0, "refusing": 0.0}, "kind": {"asserting": 0.0, "refusing": 1.0}}
PERSONS = {"insulting": 1.0, "other": 0.0}
LABELLED, UNLABELLED = "phrasings/labelled", "phrasings/unlabelled"  # record groups: which split a row takes
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


def picks(pool: list[Any], claim: int, count: int) -> list[Any]:
    """``count`` consecutive items of ``pool`` from a start that moves with the claim's index, so that every
    item serves about as many claims and each claim gets its own mix."""
    return [pool[(claim * count + j) % len(pool)] for j in range(min(count, len(pool)))]


def reports(spec: dict[str, Any], claim: int) -> Iterator[tuple[str, str]]:
    """(endorsed, rejected) frames of one claim: someone reports it, and the same report is once agreed with and
    once rejected, so that only the closing words tell the two apart."""
    pool, count = spec["clause_frames"]["reported"], spec["frames_per_claim"]["reported"]
    for j in range(count):
        k = claim * count + j
        who = pool["reporters"][k % len(pool["reporters"])]
        says = pool["verbs"][(k * 3) % len(pool["verbs"])]
        tail = k % len(pool["endorsing"])
        yield (f"{who} {says} {{c}}, {pool['endorsing'][tail]}.", f"{who} {says} {{c}}, {pool['rejecting'][tail]}.")


def claim_templates(spec: dict[str, Any]) -> Iterator[tuple[str, float | None]]:
    """Each claim (a predicate of a kind) in a few frames of every framing, with the label they decide."""
    frames, per = spec["clause_frames"], spec["frames_per_claim"]
    claims = [(kind, pair) for kind, pairs in spec["predicates"].items() for pair in pairs]
    for i, (kind, (affirmed, negated)) in enumerate(claims):
        label = CLAIMS[kind]
        say = {"affirmed": "{group} " + affirmed, "negated": "{group} " + negated}
        for frame in picks(frames["asserting"], i, per["asserting"]):
            yield frame.replace("{c}", say["affirmed"]), label["affirmed"]
            yield frame.replace("{c}", say["negated"]), label["negated"]
        for frame in picks(frames["rejecting"], i, per["rejecting"]):
            yield frame.replace("{c}", say["affirmed"]), label["rejected"]
        for endorsed, rejected in reports(spec, i):
            yield endorsed.replace("{c}", say["affirmed"]), label["affirmed"]
            yield rejected.replace("{c}", say["affirmed"]), label["rejected"]
        for frame in picks(frames["asking"], i, per["asking"]):
            yield frame.replace("{c}", say["affirmed"]), None


def templates(spec: dict[str, Any]) -> Iterator[tuple[str, float | None]]:
    """Every sentence template and its label (None where the construction does not decide it), in a fixed
    order: claims in each framing, verbs aimed at a group, persons."""
    yield from claim_templates(spec)
    for kind, verbs in spec["verbs"].items():
        for verb in verbs:
            for stance, verb_frames in spec["verb_frames"].items():
                for frame in verb_frames:
                    yield frame.replace("{v}", verb), VERBS[kind][stance]
    for kind, persons in spec["person_templates"].items():
        for template in persons:
            yield template, PERSONS[kind]


def generate(spec: dict[str, Any], identities: list[list[str]],
             banned: dict[int, set[tuple[str, ...]]]) -> Iterator[tuple[str, float | None]]:
    """The sentences and their labels: each group template filled with a few groups, each person template
    with a few names."""
    names, k = spec["names"], spec["groups_per_template"]
    for t, (template, label) in enumerate(templates(spec)):
        if shares_a_run(template, banned):
            continue
        for j in range(k):
            adj, plural, _ = identities[(t * 7 + j * 15) % len(identities)]
            name = names[(t * 11 + j * 37) % len(names)]
            text = template.replace("{group}", plural).replace("{adj}", adj).replace("{name}", name)
            yield text[0].upper() + text[1:], label


class PhrasingsDataset:
    """About 5,200 generated sentences: those whose label the construction decides in the train split, the
    others unlabelled (a teacher's scores are their only targets)."""

    name = "phrasings"
    license = "MIT (written for this project)"
    split_plan = SplitPlan(assign=lambda record: "train" if record.group == LABELLED else UNLABELED)

    def __init__(self, data_dir: str | Path | None = None, path: str | Path = PHRASINGS) -> None:
        self.path = Path(path)

    def present(self) -> bool:
        return self.path.is_file() and BEHAVIOUR.is_file()

    def records(self) -> Iterator[Record]:
        spec = json.loads(self.path.read_text(encoding="utf-8"))
        behaviour = json.loads(BEHAVIOUR.read_text(encoding="utf-8"))
        labels: dict[str, float | None] = {}
        for text, label in generate(spec, behaviour["identities"], held_out_runs(behaviour)):
            labels.setdefault(text, label)
        for text, label in labels.items():
            # 0.0 is a placeholder for an unlabelled row: the loader hides the labels of the unlabeled split
            yield make_record(content_id("phrasings", text), text, 0.0 if label is None else label,
                              source=self.name, group=UNLABELLED if label is None else LABELLED)

    def version(self) -> str:
        return f"{file_sha256(self.path)[:12]}-{file_sha256(BEHAVIOUR)[:12]}"


@hookimpl
def register_datasets(register):
    register(PhrasingsDataset)
