"""Counterfactual identity augmentation: copies of rows with their identity terms swapped across groups.

A model that learns "muslims" as a toxic word flags every mention of Muslims. A copy of each training
row that mentions a group, with the group swapped for another and the label kept, shows the model that
the term does not decide the label (counterfactual data augmentation, Dixon et al. 2018; Garg et al.
2019). Terms swap only within a class of the same grammatical form, so copies stay sentences. A copy
belongs to its source row's split and group, so it can never cross into validation, test or audits.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache

from moderation.data import row_key
from moderation.errors import InputError
from moderation.identities import groups_of, match_terms
from moderation.protocols import Record
from moderation.splits import hash_point, split_key

AUGMENT_VERSION = "1"

# Interchangeable terms, one class per grammatical form.
SWAP_CLASSES: tuple[tuple[str, ...], ...] = (
    ("gay", "lesbian", "bisexual", "trans", "transgender", "queer", "black", "white", "asian", "latino",
     "mexican", "arab", "muslim", "jewish", "christian", "hindu", "sikh", "atheist", "immigrant", "disabled",
     "deaf", "blind", "autistic", "chinese", "indigenous", "heterosexual", "catholic", "african", "european",
     "korean", "japanese", "hispanic", "buddhist", "elderly", "female"),
    ("gays", "lesbians", "bisexuals", "blacks", "whites", "asians", "latinos", "mexicans", "arabs", "muslims",
     "jews", "christians", "hindus", "sikhs", "atheists", "immigrants", "refugees", "migrants", "africans",
     "europeans", "catholics", "homosexuals", "heterosexuals", "hispanics", "buddhists", "women",
     "koreans", "teenagers", "millennials"),
    ("woman", "jew", "immigrant", "refugee", "migrant", "muslim", "christian", "atheist"),
)
# Left out: "man", "men", "boy", "girl" and the like, which mostly carry no identity ("oh man", "my boy").


@lru_cache(maxsize=1)
def _classes() -> dict[str, tuple[str, ...]]:
    return {term: cls for cls in SWAP_CLASSES for term in cls}


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def swap(text: str, terms: Sequence[str], salt: str) -> str | None:
    """``text`` with each swappable term replaced by another of its class (chosen by hash), or None."""
    classes = _classes()
    swappable = [t for t in terms if t in classes]
    if not swappable:
        return None
    choice = {}
    for term in swappable:
        others = [t for t in classes[term] if t != term]
        choice[term] = others[int(hash_point(f"{term}\0{text}", salt) * len(others))]
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in choice) + r")(?!\w)", re.I)
    return pattern.sub(lambda m: _match_case(choice[m.group(1).lower()], m.group(1)), text)


def distinct_copies(records: Sequence[Record], copies: int, rewrite: Callable[[Record, int], str | None],
                    avoid: set[str] = frozenset()) -> Iterator[tuple[Record, int, str]]:
    """(source, n, text) for up to ``copies`` rewrites of each record (``rewrite(record, n)``; None for
    none), skipping any text whose split key is a record's, an earlier copy's or one in ``avoid`` (the data
    set's validation, test and audit texts): a copy can never land on a held-out text."""
    seen = {split_key(r.text) for r in records} | set(avoid)
    for record in records:
        for n in range(copies):
            text = rewrite(record, n)
            key = None if text is None else split_key(text)
            if key is None or key in seen:
                continue
            seen.add(key)
            yield record, n, text


COPY_MARK = "~cf"
SWAP_SOURCE = "+swap"


def source_id(record: Record) -> str | None:
    """The id of the row a swapped copy was made from; None for a row that is not one (a perturbed copy
    of a swapped copy included: its source ends in ``+perturb`` and it learns the teacher's score alone)."""
    return record.id.rpartition(COPY_MARK)[0] if record.source.endswith(SWAP_SOURCE) else None


def counterfactuals(records: Sequence[Record], copies: int = 1, *, avoid: set[str] = frozenset()) -> list[Record]:
    """Up to ``copies`` identity-swapped copies of each record that mentions a swappable identity term.

    Each copy keeps its source's label, split and group (the source's split key when it had none), so it
    stays on its source's side of every split. ``avoid`` holds split keys a copy must not produce (the
    data set's validation, test and audit texts): such a copy is dropped, never trained on."""
    terms = {id(r): r.terms or match_terms(r.text) for r in records}  # once per record, not per copy
    out = []
    for record, n, text in distinct_copies(records, copies, lambda r, n: swap(r.text, terms[id(r)], f"copy{n}"),
                                           avoid):
        new_terms = match_terms(text)
        out.append(dataclasses.replace(record, id=f"{record.id}{COPY_MARK}{n + 1}", text=text, terms=new_terms,
                                       identities=groups_of(new_terms), source=f"{record.source}{SWAP_SOURCE}",
                                       group=record.group or row_key(record)))
    return out


def origin(record: Record) -> str:
    """The data set a row came from, for a swapped copy too (its source is ``<data set>+swap``)."""
    return record.source.split("+")[0]


def require_sources(option: str, names: Iterable[str], records: Iterable[Record],
                    held_by: str = "the transfer set") -> None:
    """Raise if ``option`` names a data set that none of ``records`` come from (a typo would else be ignored
    in silence)."""
    unknown = set(names) - {origin(r) for r in records}
    if unknown:
        raise InputError(f"{option} names {', '.join(sorted(unknown))}, which {held_by} does not hold")


def repeat_counts(records: Sequence[Record], repeats: Mapping[str, int]) -> list[int]:
    """How many times each row is seen when the rows of each data set named in ``repeats`` (its swapped
    copies too) are repeated that many times: a small data set that teaches what the big ones cannot (the
    behaviour set's negation and counter-speech) is seen more."""
    unknown = set(repeats) - {origin(r) for r in records}
    if unknown:
        raise InputError(f"--oversample names {', '.join(sorted(unknown))}, which none of the training rows come "
                         f"from (they come from {', '.join(sorted({origin(r) for r in records}))})")
    if any(n < 1 for n in repeats.values()):
        raise InputError(f"--oversample counts must be 1 or more: {dict(repeats)}")
    return [repeats.get(origin(r), 1) for r in records]


def augment_lineage(copies: int) -> dict[str, object]:
    return {"copies": copies, "version": AUGMENT_VERSION}


def augmented(records: Sequence[Record], copies: int, avoid: set[str]) -> list[Record]:
    """``records`` followed by their counterfactual copies; none may have a split key in ``avoid``."""
    if copies <= 0:
        return list(records)
    return list(records) + counterfactuals(records, copies, avoid=avoid)
