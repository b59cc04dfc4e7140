"""What a model reads: a comment with the Unicode disguises people use to slip past filters undone.

Fullwidth letters ("ｉｄｉｏｔ"), zero-width characters and Cyrillic or Greek letters that look like Latin
ones ("іdіоt") read as plain text to a person, but a model trained on ordinary text sees unknown tokens: the
shipped default scored "I hate all muslims, they should be killed" 1.00 plainly, 0.02 in fullwidth and 0.75
with lookalikes. Letters stretched for emphasis ("stuuupid idiooot", 0.30) are squeezed to one: no English
word has a letter three times in a row, and a word that loses a double letter ("gooood" -> "god") reads
as a typo would. Every comment is scored deobfuscated (``scoring.score_texts``, and audits); what is stored
and shown stays what the user wrote.

Lookalikes are mapped only where the text is written in Latin letters: in a text whose Cyrillic or Greek
letters all have a Latin twin, and otherwise only inside words that mix them with Latin letters, so that a
comment written in Russian or Greek is left as it is.
"""

from __future__ import annotations

import re
import unicodedata

# Cyrillic and Greek letters drawn like Latin ones (a subset of Unicode's confusables, UTS #39, kept to
# one-letter look-alikes: the full skeleton mapping also folds Latin letters into each other, "m" -> "rn").
LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ӏ": "l", "һ": "h",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
    "α": "a", "ο": "o", "ν": "v", "ρ": "p", "τ": "t", "ι": "i", "κ": "k", "υ": "u", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_TWINS = frozenset(chr(c) for c in LOOKALIKES)
_FOREIGN = re.compile(r"[\u0370-\u03ff\u0400-\u052f]")  # Greek and Cyrillic letters
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"\w+")
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")  # a letter three or more times in a row


def _unmask_word(match: re.Match[str]) -> str:
    word = match.group()
    return word.translate(LOOKALIKES) if _LATIN.search(word) else word


def deobfuscate(text: str) -> str:
    """``text`` under NFKC (fullwidth and styled letters to plain ones), without format characters
    (zero-width spaces and joiners, soft hyphens, direction marks), with look-alike letters made Latin
    and stretched letters squeezed."""
    if not text.isascii():  # the common case skips the per-character work: ASCII has none of these
        text = unicodedata.normalize("NFKC", text)
        text = _unmask("".join(c for c in text if unicodedata.category(c) != "Cf"))
    return _STRETCHED.sub(r"\1", text)


def _unmask(text: str) -> str:
    foreign = set(_FOREIGN.findall(text))
    if not foreign:
        return text
    if foreign <= _TWINS and _LATIN.search(text):
        return text.translate(LOOKALIKES)
    return _WORD.sub(_unmask_word, text)
