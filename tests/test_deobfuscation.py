"""Disguised comments read as a person reads them: fullwidth and look-alike letters, zero-width characters
and stretched letters undone before any model scores them, and nothing else changed."""

from __future__ import annotations

import json

import pytest

from moderation.artifacts import load_model, read_manifest
from moderation.defaults import SHIPPED_MODEL
from moderation.deobfuscation import deobfuscate
from moderation.policy import recommended
from moderation.scoring import MAX_TEXT_CHARS, score_texts
from tests.conftest import invoke_cli

ATTACK = "I hate all muslims, they should be killed"
LOOKALIKES = str.maketrans({"a": "а", "e": "е", "o": "о", "i": "і", "c": "с", "y": "у"})  # Cyrillic


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


DISGUISES = {
    "fullwidth": fullwidth(ATTACK),
    "look-alike letters": ATTACK.translate(LOOKALIKES),
    "zero-width spaces": "\u200b".join(ATTACK),
    "soft hyphens and a direction mark": "I ha\u00adte all mus\u00adlims, they should be ki\u200flled",
    "stretched letters": "I haaaate all muuuslims, theeey shoooould be killed",
}


@pytest.mark.parametrize("name", DISGUISES)
def test_each_disguise_reads_as_the_plain_comment(name):
    assert deobfuscate(DISGUISES[name]) == ATTACK


@pytest.mark.parametrize("text", [
    "You are a lovely person.", "Cool, see you at 10:30!", "I'm a proud gay man and I love my husband",
    "Привет, как дела? Всё хорошо.",  # Russian: its Cyrillic is not a disguise
    "Καλημέρα σε όλους",  # Greek likewise
])
def test_ordinary_text_is_left_as_written(text):
    assert deobfuscate(text) == text


def test_only_runs_of_three_letters_or_more_are_squeezed():
    assert deobfuscate("See www.example.com, rated 5/5, all good") == "See w.example.com, rated 5/5, all good"


def test_only_mixed_words_are_unmasked_in_a_text_with_real_cyrillic():
    # "Дом" has a letter with no Latin twin (Д): the text is partly Russian, so only the Latin-and-Cyrillic
    # word is a disguise.
    assert deobfuscate("Дом. You are an іdіоt") == "Дом. You are an idiot"
    assert deobfuscate("Дом. Ты дурак, idiot") == "Дом. Ты дурак, idiot"


def test_a_text_that_nfkc_lengthens_is_scored_within_the_length_bound():
    class Lengths:
        name = "lengths"

        def score(self, texts):
            return [len(t) / (10 * MAX_TEXT_CHARS) for t in texts]

    ligatures = "\ufdfa" * 10  # one Arabic ligature is 18 letters under NFKC
    huge = "\ufdfa" * (MAX_TEXT_CHARS // 10)
    assert score_texts(Lengths(), [ligatures])[0] == pytest.approx(len(deobfuscate(ligatures)) / (10 * MAX_TEXT_CHARS))
    assert score_texts(Lengths(), [huge])[0] == pytest.approx(0.1)


def test_the_default_moderates_disguised_attacks_as_it_does_the_plain_one():
    model = load_model(SHIPPED_MODEL)
    policy = recommended(read_manifest(SHIPPED_MODEL).policy)
    plain = float(score_texts(model, [ATTACK])[0])
    disguised = score_texts(model, list(DISGUISES.values()))
    assert policy.decide(plain) == "block"
    decisions = {name: policy.decide(float(s)) for name, s in zip(DISGUISES, disguised, strict=True)}
    assert decisions == dict.fromkeys(DISGUISES, "block"), disguised
    # the raw model alone does not read fullwidth text: this is why the host deobfuscates
    assert float(model.score([DISGUISES["fullwidth"]])[0]) < policy.review


def test_score_command_reads_a_disguised_comment():
    assert json.loads(invoke_cli("score", "--json", DISGUISES["fullwidth"]).stdout)["decision"] == "block"
