"""Framed claims: claims about groups in frames drawn from large pools, labelled where the construction decides.

The ``phrasings`` set puts each claim in a dozen fixed frames, unlabelled, and the teacher's scores are its
only targets; that teacher scores an attack inside an asserting frame as harmless ("My whole family agrees
that {group} are vermin": 2 % flagged), and its students learn it. Here each claim is asserted, negated,
rejected, reported by someone and endorsed or rejected, and asked about; where the construction decides the
label (an attack asserted or rejected, praise denied, a violent verb asserted or refused, a person insulted),
the row carries it and sits in the train split; questions and the rest stay in ``unlabeled``. Labels on a
dozen fixed frames taught the mirror shortcut (an attack predicate flags whatever frames it), and a 2-layer
student memorised the frames of 47-frame pools (b28), so the pools are grown by a small grammar to hundreds
of frames, each serving a claim or two, and a reported claim comes as a pair that only its closing words tell
apart: no predicate and no frame alone decides the label. Rows that share a run of four words with a held-out
behaviour template are dropped, as in ``phrasings``.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moderation import hookimpl
from moderation.data import UNLABELED, SplitPlan, content_id, make_record
from moderation.protocols import Record
from moderation_plugins.behaviour import TEMPLATES as BEHAVIOUR
from moderation_plugins.phrasings import PhrasingsDataset, fill, held_out_runs

FRAMED_CLAIMS = Path(__file__).with_name("data") / "framed_claims.json"
# The label of a claim about a group, by the kind of its predicate and how it is put (None: not decided by
# the construction). Rejecting a claim says its negation, except for neutral ones ("It's a lie that they
# have a long history here" can be a slur), left to the teacher.
CLAIMS = {"attack": {"affirmed": 1.0, "negated": 0.0, "rejected": 0.0},
          "praise": {"affirmed": 0.0, "negated": 1.0, "rejected": 1.0},
          "neutral": {"affirmed": 0.0, "negated": None, "rejected": None}}
VERBS = {"violent": {"asserting": 1.0, "refusing": 0.0}, "kind": {"asserting": 0.0, "refusing": 1.0}}
PERSONS = {"insulting": 1.0, "other": 0.0}
# A row whose label the construction leaves open carries this id prefix, which sends it to the unlabeled split.
# Not a record group: rows of one group share every hashed choice (a buried copy of all of them or of none).
OPEN = "framed-claims-open"


def frame_pools(spec: dict[str, Any]) -> dict[str, list[str]]:
    """The frames of each framing: the hand-written ones and every combination of word choices that an entry
    of ``frame_grammar`` spells out, shuffled with a fixed seed. A 2-layer student memorised the few frames a
    claim came in and generalised little to unseen ones (b28); hundreds of frames, each serving one or two
    claims, leave it less to memorise (b30: docs/figures.md)."""
    pools = {framing: list(frames) for framing, frames in spec["clause_frames"].items() if framing != "reported"}
    for framing, entries in spec.get("frame_grammar", {}).items():
        grown = pools[framing] + ["".join(words) for entry in entries for words in itertools.product(*entry)]
        pools[framing] = list(dict.fromkeys(grown))
        random.Random(0).shuffle(pools[framing])
    return pools


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
    frames, per = frame_pools(spec), spec["frames_per_claim"]
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
    return fill(spec, identities, banned, templates(spec))


class FramedClaimsDataset(PhrasingsDataset):
    """About 5,300 generated sentences: those whose label the construction decides in the train split, the
    others unlabelled (a teacher's scores are their only targets)."""

    name = "framed-claims"
    split_plan = SplitPlan(assign=lambda record: UNLABELED if record.id.startswith(OPEN) else "train")

    def __init__(self, data_dir: str | Path | None = None, path: str | Path = FRAMED_CLAIMS) -> None:
        super().__init__(data_dir, path)

    def records(self) -> Iterator[Record]:
        spec = json.loads(self.path.read_text(encoding="utf-8"))
        behaviour = json.loads(BEHAVIOUR.read_text(encoding="utf-8"))
        labels: dict[str, float | None] = {}
        for text, label in generate(spec, behaviour["identities"], held_out_runs(behaviour)):
            labels.setdefault(text, label)
        for text, label in labels.items():
            # 0.0 is a placeholder for an unlabelled row: the loader hides the labels of the unlabeled split
            yield make_record(content_id(OPEN if label is None else self.name, text),
                              text, 0.0 if label is None else label, source=self.name)


@hookimpl
def register_datasets(register):
    register(FramedClaimsDataset)
