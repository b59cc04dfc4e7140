"""The identity-term lexicon: which identity groups a text mentions, for data without identity columns.

Groups use the Civil Comments identity column names where one exists (so a user's Civil-Comments-style
CSV and lexicon matches land in the same slices), plus ``immigrant``, ``middle_eastern``,
``native_american`` and ``age`` for groups that ToxiGen and the bias templates cover.

Matching is on whole words, case-insensitive, so "trans" does not match "transport", "asian" does not
match "caucasian" and "jew" does not match "jewel". Listed phrases such as "black friday" or
"white house" are removed before matching. Known limits: colour words ("black", "white") and common
nouns ("man", "girls") still match where they carry no identity; slurs are not identity terms (a slur
is toxicity, which the models learn; the lexicon finds neutral mentions). Bump ``LEXICON_VERSION``
whenever a term changes: slices, and so audits, depend on it.
"""

from __future__ import annotations

import re
from functools import lru_cache

LEXICON_VERSION = "1.0"

LEXICON: dict[str, tuple[str, ...]] = {
    "male": ("male", "males", "man", "men", "boy", "boys"),
    "female": ("female", "females", "woman", "women", "girl", "girls", "lady", "ladies"),
    "transgender": ("transgender", "transgenders", "trans", "transsexual", "nonbinary", "non-binary"),
    "heterosexual": ("heterosexual", "heterosexuals", "straight people", "straight men", "straight women",
                     "straight guy", "straight guys"),
    "homosexual_gay_or_lesbian": ("gay", "gays", "lesbian", "lesbians", "homosexual", "homosexuals",
                                  "queer", "lgbt", "lgbtq", "lgbtq+", "lgbtqia"),
    "bisexual": ("bisexual", "bisexuals", "bisexuality"),
    "christian": ("christian", "christians", "christianity", "catholic", "catholics", "protestant",
                  "protestants"),
    "jewish": ("jew", "jews", "jewish", "judaism"),
    "muslim": ("muslim", "muslims", "islam", "islamic", "moslem", "moslems"),
    "hindu": ("hindu", "hindus", "hinduism"),
    "buddhist": ("buddhist", "buddhists", "buddhism"),
    "atheist": ("atheist", "atheists", "atheism"),
    "other_religion": ("sikh", "sikhs", "taoist", "taoists"),
    "black": ("black", "blacks", "african", "africans", "african american", "african americans"),
    "white": ("white", "whites", "caucasian", "caucasians", "european", "europeans"),
    "asian": ("asian", "asians", "chinese", "japanese", "korean", "koreans", "vietnamese"),
    "latino": ("latino", "latinos", "latina", "latinas", "latinx", "hispanic", "hispanics", "mexican",
               "mexicans"),
    "middle_eastern": ("middle eastern", "arab", "arabs", "middle east"),
    "native_american": ("native american", "native americans", "indigenous"),
    "immigrant": ("immigrant", "immigrants", "refugee", "refugees", "migrant", "migrants"),
    "physical_disability": ("disabled", "wheelchair", "blind", "deaf", "paralyzed", "paraplegic"),
    "intellectual_or_learning_disability": ("autistic", "autism", "down syndrome", "dyslexic"),
    "psychiatric_or_mental_illness": ("mentally ill", "mental illness", "schizophrenic", "bipolar",
                                      "depressed", "psychotic"),
    "age": ("elderly", "millennial", "millennials", "millenial", "teenage", "teenager", "teenagers",
            "middle aged", "middle-aged"),
}

# Phrases whose identity word carries no identity; removed before matching.
EXCLUSIONS: tuple[str, ...] = (
    "black friday", "black hole", "black holes", "black market", "black and white", "white house",
    "white wine", "white board", "whiteboard", "white paper", "blind spot", "turn a blind eye",
    "deaf ears", "straight away", "straight line", "man up", "oh man", "trans fat",
)

GROUPS: tuple[str, ...] = tuple(LEXICON)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    term_group = {term: group for group, terms in LEXICON.items() for term in terms}
    by_length = sorted(term_group, key=len, reverse=True)  # longest first: "african american" before "african"
    terms = re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in by_length) + r")(?!\w)", re.I)
    exclusions = re.compile(r"\b(" + "|".join(re.escape(p) for p in EXCLUSIONS) + r")\b", re.I)
    return terms, exclusions, term_group


_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _first_words() -> frozenset[str]:
    return frozenset(_WORD.match(term).group() for terms in LEXICON.values() for term in terms)


def match_terms(text: str) -> tuple[str, ...]:
    """The lexicon terms a text mentions, lower-cased, in order of first appearance."""
    # A whole-word match needs the term's first word among the text's words. The alternation scans every
    # position and costs most of a data set's load time; this test skips it for the texts with no
    # candidate word. Only ASCII texts take the shortcut: there ``lower()`` agrees with the pattern's re.I.
    if text.isascii() and _first_words().isdisjoint(_WORD.findall(text.lower())):
        return ()
    terms, exclusions, _ = _patterns()
    cleaned = exclusions.sub(" ", text)
    return tuple(dict.fromkeys(m.group(1).lower() for m in terms.finditer(cleaned)))


def groups_of(terms: tuple[str, ...]) -> tuple[str, ...]:
    """The identity groups of lexicon terms, sorted."""
    term_group = _patterns()[2]
    return tuple(sorted({term_group[t] for t in terms if t in term_group}))


def match_identities(text: str) -> tuple[str, ...]:
    """The identity groups a text mentions, sorted."""
    return groups_of(match_terms(text))
