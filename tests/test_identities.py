"""The identity-term lexicon, on the tricky cases."""

from __future__ import annotations

import pytest

from moderation.identities import GROUPS, LEXICON, LEXICON_VERSION, match_identities, match_terms


@pytest.mark.parametrize(("text", "groups"), [
    ("I love my gay friends", ("homosexual_gay_or_lesbian",)),
    ("The transport strike and the translation", ()),          # "trans" only as a whole word
    ("a trans woman", ("female", "transgender")),
    ("Caucasian", ("white",)),                                 # not "asian" inside "caucasian"
    ("a jewel of a town", ()),                                 # not "jew" inside "jewel"
    ("Muslims and Jews", ("jewish", "muslim")),
    ("MUSLIM", ("muslim",)),                                   # case-insensitive
    ("African American women", ("black", "female")),          # multi-word term
    ("Black Friday deals at the White House", ()),             # excluded phrases
    ("black friday, and black people", ("black",)),           # exclusion removes only the phrase
    ("gay-friendly bars", ("homosexual_gay_or_lesbian",)),    # hyphenated compounds count
    ("LGBTQ+ rights", ("homosexual_gay_or_lesbian",)),
    ("non-binary folks", ("transgender",)),
    ("she is middle-aged", ("age",)),
])
def test_matches(text, groups):
    assert match_identities(text) == groups


def test_terms_keep_order_and_are_lower_case():
    assert match_terms("Gay men, GAY women") == ("gay", "men", "women")


def test_lexicon_is_versioned_and_well_formed():
    assert LEXICON_VERSION
    terms = [t for ts in LEXICON.values() for t in ts]
    assert len(terms) == len(set(terms)), "a term may belong to one group only"
    assert all(t == t.lower().strip() for t in terms)
    assert set(GROUPS) >= {"male", "female", "black", "white", "muslim", "jewish", "homosexual_gay_or_lesbian"}
