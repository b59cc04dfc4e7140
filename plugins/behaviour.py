"""Our own behaviour data set: functional tests of a moderator, generated from templates and word lists.

Each row is labelled with its category (``category_of``): statements about identity groups, benign or
attacking (also asked as questions, said as denied praise, or made by a pronoun in a second sentence), benign
questions about a group, negated attacks, counter-speech, praise said with profanity, untargeted profanity, abuse
of pests, insults, friendly comments, and attacks spelled to evade filters. Whole templates are held out: the
``audit`` split (the test part) holds phrasings no model trained on, so pass rates there measure generalisation,
not recall.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moderation import hookimpl
from moderation.artifacts import file_sha256
from moderation.data import HELD_OUT, SplitPlan, make_record
from moderation.protocols import Record
from moderation.tables import Rejected

TEMPLATES = Path(__file__).with_name("data") / "behaviour.json"
NOUNS = ("person", "woman", "man")
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
PREFIX = "behaviour/"


def category_of(record: Record) -> str:
    """The behaviour category of a row of this data set (``""`` for rows of other data sets)."""
    return record.group.split("/")[1] if record.group.startswith(PREFIX) else ""


def template_passes(records: Sequence[Record], scores: np.ndarray,
                    threshold: float) -> dict[str, dict[str, tuple[int, int]]]:
    """Per behaviour category and, within it, per template (the row's group), in first-seen order (rows of
    other data sets left out): the rows a model gets right at ``threshold`` and the rows there are. A toxic
    row is right when flagged, a benign one when not."""
    right = (np.asarray(scores) >= threshold) == (np.array([r.label for r in records]) == 1)
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    for record, ok in zip(records, right, strict=True):
        if category := category_of(record):
            templates = counts.setdefault(category, {})
            k, n = templates.get(record.group, (0, 0))
            templates[record.group] = (k + int(ok), n + 1)
    return counts


def category_passes(records: Sequence[Record], scores: np.ndarray, threshold: float) -> dict[str, tuple[int, int]]:
    """Per behaviour category, in first-seen order: the rows right at ``threshold`` and the rows there are
    (``template_passes`` summed over the category's templates)."""
    return {c: (sum(k for k, _ in t.values()), sum(n for _, n in t.values()))
            for c, t in template_passes(records, scores, threshold).items()}


def template_role(index: int) -> str:
    """Whole templates per category: index 3, 7, 11, ... held out (test part); 1, 9, 17 validation."""
    if index % 4 == 3:
        return HELD_OUT
    return "validation" if index % 8 == 1 else "train"


def template_split(record: Record) -> str:
    return template_role(int(record.group.rsplit("/", 1)[1]))


def evade(text: str, words: list[str], how: int) -> str:
    """Spell the attack words of ``text`` the way people dodge filters (five ways, chosen by ``how``)."""
    def respell(word: str) -> str:
        return [
            lambda w: w.translate(LEET),                      # leetspeak
            lambda w: " ".join(w),                            # inserted spaces
            lambda w: ".".join(w),                            # inserted punctuation
            lambda w: w[:-2] + w[-1] if len(w) > 3 else w + w[-1],  # a dropped (or doubled) letter
            lambda w: w[0] + w[2] + w[1] + w[3:] if len(w) > 3 else w[::-1],  # swapped letters
        ][how % 5](word)

    out = []
    for token in text.split(" "):
        core = token.strip(".,!?").lower()
        out.append(token.lower().replace(core, respell(core)) if core in words else token)
    return " ".join(out)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(template: str, slots: dict[str, str]) -> str:
    text = _capitalise(template.format(**slots))
    return re.sub(r"\b([Aa]) (?=[AEIOUaeiou])", r"\1n ", text)  # "a Indigenous man" -> "an Indigenous man"


def generate(spec: dict[str, Any]) -> Iterator[tuple[str, str, int, str]]:
    """(id, text, label, group) for every row, in a fixed order."""
    fillers = spec["fillers"]
    names = fillers["name"]  # also beside an identity: a person's name must not move a score
    for category, body in spec["categories"].items():
        for t, template in enumerate(body["templates"]):
            group = f"{PREFIX}{category}/{t}"
            if "{group}" in template or "{adj}" in template:
                for i, (adj, plural, noun) in enumerate(spec["identities"]):
                    if noun == "-" and "{noun}" in template:  # "a female woman": the adjective is the noun
                        continue
                    text = _fill(template, {"group": plural, "adj": adj, "noun": noun or NOUNS[(i + t) % 3],
                                            "name": names[(i * 7 + t) % len(names)]})
                    if category == "evasion":
                        text = _capitalise(evade(text, spec["evasion_words"], i + t))
                    yield f"behaviour-{category}-{t}-{i}", text, body["label"], group
            else:
                for i in range(10 if "{" in template else 1):
                    slots = {slot: words[(i * 3 + t) % len(words)] for slot, words in fillers.items()}
                    yield f"behaviour-{category}-{t}-{i}", _fill(template, slots), body["label"], group


class BehaviourDataset:
    """About 38,900 generated rows in 19 categories (32-88 templates each); whole templates held out (test part)."""

    name = "behaviour"
    license = "MIT (written for this project)"
    split_plan = SplitPlan(assign=template_split)

    def __init__(self, data_dir: str | Path | None = None, path: str | Path = TEMPLATES) -> None:
        self.path = Path(path)

    def present(self) -> bool:
        return self.path.is_file()

    def records(self) -> Iterator[Record | Rejected]:
        spec = json.loads(self.path.read_text(encoding="utf-8"))
        for id, text, label, group in generate(spec):
            yield make_record(id, text, float(label), source=self.name, group=group)

    def version(self) -> str:
        return file_sha256(self.path)[:12]


@hookimpl
def register_datasets(register):
    register(BehaviourDataset)
