"""Buried attacks for training sets: a short toxic row set inside an excerpt of a friendly one.

A comment that carries an attack is toxic whatever surrounds it, but a model trained on whole short
attacks learns that an attack is a short text. Measured on validation (benchmarks/candidates.py): the
shipped default flags 95 % of toxic behaviour sentences alone and 18 % once 15 to 35 words of a friendly
jigsaw-toxic comment surround them, all inside the 64 tokens it reads. Each copy here puts a short
toxic training row at a sentence boundary of a friendly training row's excerpt, short enough for the
whole copy to fit in one student window, and keeps the toxic row's label, toxicity, split and group: it
teaches that the attack decides, and it can never cross into validation, test or audits.

Unlabelled rows (a distillation's transfer set) can be buried too, whatever they say, at a share of their
own: a copy stays unlabelled, so the teacher's score of the copy is its target. Short generated sentences
(``phrasings``) taught the student that a claim's framing decides its score, and with them it flagged fewer
buried attacks (docs/figures.md); their buried copies show it the same claims inside friendly text.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Mapping, Sequence

from moderation.augment import distinct_copies, origin
from moderation.data import row_key
from moderation.identities import groups_of, match_terms
from moderation.protocols import Record
from moderation.splits import hash_point

BURY_VERSION = "1"
MAX_ATTACK_WORDS = 25    # longer toxic rows are already long texts
MIN_HOST_WORDS = 20      # a friendly row shorter than this hides nothing
HOST_WORDS = (15, 35)    # words of friendly text around the attack: with it, under a 64-token window
FRIENDLY = 0.1           # the highest gold toxicity of a host row
BURIED_SOURCE = "+bury"
BURIED_MARK = "~b"       # a copy's id: its attack's id, this mark, the copy number
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def bury(attack: str, host: str, salt: str) -> str:
    """``attack`` placed between two sentences of an excerpt of ``host`` (a run of whole sentences of up to
    ``HOST_WORDS`` words, or the start of one longer sentence), chosen by a hash of both texts and ``salt``:
    every run makes the same copy."""
    rng = random.Random(f"{salt}\0{attack}\0{host}")  # a str seed is hashed with SHA-512: stable across runs
    sentences = [s.split() for s in _SENTENCE_END.split(host.strip()) if s.strip()]
    budget = rng.randint(*HOST_WORDS)
    start = rng.randrange(len(sentences))
    taken = [start]
    for i in [*range(start + 1, len(sentences)), *range(start - 1, -1, -1)]:  # forward, then back from start
        if sum(len(sentences[j]) for j in taken) + len(sentences[i]) > budget:
            break
        taken.append(i)
    excerpt = [sentences[i][:budget] for i in sorted(taken)]  # one long sentence is cut, never a run of them
    attack = attack.strip()
    if not attack.endswith((".", "!", "?")):
        attack += "."
    at = rng.randint(0, len(excerpt))
    return " ".join([*(" ".join(w) for w in excerpt[:at]), attack, *(" ".join(w) for w in excerpt[at:])])


def _is_attack(record: Record) -> bool:
    return record.label == 1 and len(record.text.split()) <= MAX_ATTACK_WORDS


def _is_unlabeled(record: Record) -> bool:
    return record.label < 0 and len(record.text.split()) <= MAX_ATTACK_WORDS


def _is_host(record: Record) -> bool:
    return record.label == 0 and record.toxicity <= FRIENDLY and len(record.text.split()) >= MIN_HOST_WORDS


def buried(records: Sequence[Record], share: float, *, unlabeled: float = 0.0,
           share_for: Mapping[str, float] | None = None, avoid: set[str] = frozenset()) -> list[Record]:
    """A buried copy of ``share`` of the short toxic rows of ``records`` and of ``unlabeled`` of its short
    unlabelled ones, except that ``share_for`` sets the share of both for the rows of the data sets it names
    (``{"framed-claims": 1.0}``). Each row is chosen by a hash of its ``row_key`` (its text, or its record group
    where it has one, so that a behaviour template's or a forum post's rows are chosen together), and buried in
    a friendly row chosen by a hash of its id. None when every share is 0 or no row is long and friendly enough
    to host one. ``avoid`` holds split keys a copy must not produce."""
    share_for = share_for or {}
    hosts = [r for r in records if _is_host(r)] if max(share, unlabeled, *share_for.values()) > 0 else []
    if not hosts:
        return []

    def chosen(record: Record) -> bool:
        if not (_is_attack(record) or _is_unlabeled(record)):
            return False
        own = share_for.get(origin(record), share if record.label == 1 else unlabeled)
        return hash_point(row_key(record), "bury") < own

    attacks = [r for r in records if chosen(r)]

    def host_text(record: Record, n: int) -> str:
        host = hosts[int(hash_point(record.id, f"bury-host{n}") * len(hosts))]
        return bury(record.text, host.text, f"bury{n}")

    out = []
    for record, n, text in distinct_copies(attacks, 1, host_text, avoid):
        terms = match_terms(text)
        out.append(dataclasses.replace(record, id=f"{record.id}{BURIED_MARK}{n + 1}", text=text, terms=terms,
                                       identities=groups_of(terms), source=f"{record.source}{BURIED_SOURCE}",
                                       group=record.group or row_key(record)))
    return out


def bury_lineage(share: float, unlabeled: float = 0.0, share_for: Mapping[str, float] | None = None
                 ) -> dict[str, object]:
    return {"share": share, "version": BURY_VERSION, **({"unlabeled": unlabeled} if unlabeled else {}),
            **({"for": dict(share_for)} if share_for else {})}
