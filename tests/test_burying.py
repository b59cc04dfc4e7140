"""Buried attacks: a short toxic row inside an excerpt of a friendly one, label kept, on its side of every split."""

from __future__ import annotations

import dataclasses
import json

from moderation.burying import HOST_WORDS, MIN_HOST_WORDS, buried, bury
from moderation.data import load, make_record
from moderation.distill import transfer_records
from moderation.splits import split_key
from tests.conftest import invoke_cli

HOST = ("I read the whole article twice. It was well argued and the photos were lovely. My family lived in that "
        "town for years, and we still visit every summer. Thanks to the reporter for the careful work. Looking "
        "forward to the next one.")
SENTENCES = [s.strip() for s in HOST.replace(". ", ".\n").splitlines()]


def train_row(id: str, text: str, toxicity: float):
    return dataclasses.replace(make_record(id, text, toxicity, source="demo"), split="train")


def test_the_attack_sits_whole_between_whole_sentences_of_the_host():
    copies = [bury("Muslims are vermin", HOST, f"bury{n}") for n in range(30)]
    assert copies == [bury("Muslims are vermin", HOST, f"bury{n}") for n in range(30)]
    for copy in copies:
        before, _, after = copy.partition("Muslims are vermin.")
        around = [s for s in (before + after).replace(". ", ".\n").splitlines() if s.strip()]
        assert all(s.strip() in SENTENCES for s in around)  # no host sentence is cut: each is far under the limit
        assert sum(len(s.split()) for s in around) <= HOST_WORDS[1]
    assert any(c.startswith("Muslims") for c in copies) and any(c.endswith("vermin.") for c in copies)
    assert any(not c.startswith("Muslims") and not c.endswith("vermin.") for c in copies)
    assert len(set(copies)) > 10


def test_one_long_sentence_is_cut_to_the_word_limit():
    host = " ".join(f"w{i}" for i in range(80))
    copy = bury("you idiot!", host, "bury0")
    assert "you idiot!" in copy and len(copy.split()) <= HOST_WORDS[1] + 2


def test_only_short_toxic_rows_are_buried_and_only_in_long_friendly_rows():
    attack = train_row("a", "you are a worthless idiot", 0.9)
    long_attack = train_row("la", " ".join(["idiot"] * 30), 1.0)
    friendly = train_row("f", HOST, 0.0)
    short_friendly = train_row("sf", "what a lovely day", 0.0)
    mild = train_row("m", HOST.replace("lovely", "awful"), 0.3)  # not toxic, but not friendly enough to host
    copies = buried([attack, long_attack, friendly, short_friendly, mild], share=1.0)
    assert [c.id for c in copies] == ["a~b1"]
    copy = copies[0]
    assert "you are a worthless idiot." in copy.text and len(copy.text.split()) > MIN_HOST_WORDS // 2
    assert (copy.label, copy.toxicity, copy.split, copy.source) == (1, 0.9, "train", "demo+bury")
    assert copy.group == split_key(attack.text)  # it goes wherever its attack goes
    assert buried([attack, short_friendly], share=1.0) == []  # no host: no copy
    assert buried([attack, friendly], share=0.0) == []


def test_the_share_of_attacks_buried_and_texts_to_avoid():
    hosts = [train_row(f"h{i}", f"{HOST} Reply number {i}.", 0.0) for i in range(5)]
    attacks = [train_row(f"a{i}", f"attack number {i}, you moron", 1.0) for i in range(400)]
    half = buried(attacks + hosts, share=0.5)
    assert 150 < len(half) < 250
    assert {c.id for c in half} <= {c.id for c in buried(attacks + hosts, share=0.8)}  # a larger share adds rows
    first = buried([attacks[0], *hosts], share=1.0)[0]
    assert buried([attacks[0], *hosts], share=1.0, avoid={split_key(first.text)}) == []


def test_unlabelled_rows_are_buried_at_their_own_share_and_stay_unlabelled():
    host = train_row("f", HOST, 0.0)
    rows = [dataclasses.replace(make_record(f"u{i}", f"claim number {i} about them", 0.0, source="phrasings"),
                                split="unlabeled", label=-1) for i in range(300)]
    toxic = train_row("a", "you are a worthless idiot", 0.9)
    assert buried([*rows, toxic, host], share=1.0) == buried([toxic, host], share=1.0)  # by default none of them
    copies = buried([*rows, toxic, host], share=0.0, unlabeled=0.5)
    assert 100 < len(copies) < 200 and "a~b1" not in {c.id for c in copies}
    assert all(c.label == -1 and c.split == "unlabeled" and c.source == "phrasings+bury" for c in copies)
    source = {r.id: r.text for r in rows}
    for copy in copies:
        claim = source[copy.id.removesuffix("~b1")] + "."
        assert claim in copy.text and copy.text.replace(claim, "").split()[0] in HOST.split()  # inside the host


def test_a_data_set_can_take_a_share_of_its_own():
    host = train_row("f", HOST, 0.0)
    demo = [train_row(f"d{i}", f"attack number {i}, you moron", 1.0) for i in range(100)]
    framed = [dataclasses.replace(row, id=f"x{i}", source="framed") for i, row in enumerate(demo)]
    unlabelled = [dataclasses.replace(row, id=f"u{i}", text=f"claim {i}", label=-1, split="unlabeled")
                  for i, row in enumerate(framed)]
    rows = [*demo, *framed, *unlabelled, host]
    copies = buried(rows, 0.0, share_for={"framed": 1.0})
    assert {c.id for c in copies} == {f"{r.id}~b1" for r in framed + unlabelled}  # toxic and unlabelled alike
    rest = buried(rows, 0.3, unlabeled=0.3, share_for={"framed": 0.0})
    assert rest and {c.source for c in rest} == {"demo+bury"}
    assert {c.id for c in rest} == {c.id for c in buried([*demo, host], 0.3)}  # the others keep the recipe's share


def test_buried_copies_join_the_transfer_set_and_the_lineage(default_model, tmp_path):
    data = load("demo")
    plain, with_buried = transfer_records(data), transfer_records(data, bury=1.0)
    copies = [r for r in with_buried if r.source.endswith("+bury")]
    assert copies and len(with_buried) == len(plain) + len(copies)
    assert all(r.label == 1 and r.split in ("train", "unlabeled") for r in copies)
    out = tmp_path / "student"
    report = json.loads(invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data",
                                   "demo", "--out", str(out), "--cache", str(tmp_path / "c.sqlite"), "--bury",
                                   "0.5", "--json").stdout)
    assert report["lineage"]["bury"] == {"share": 0.5, "version": "1"}
    report = json.loads(invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data",
                                   "demo", "--labeled", "300", "--out", str(out), "--cache", str(tmp_path / "c.sqlite"),
                                   "--bury-unlabeled", "0.5", "--json").stdout)
    assert report["lineage"]["bury"] == {"share": 0.0, "version": "1", "unlabeled": 0.5}
    assert report["lineage"]["transfer_rows"] > len(transfer_records(load("demo", labeled=300)))
    report = json.loads(invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data",
                                   "demo", "--out", str(out), "--cache", str(tmp_path / "c.sqlite"), "--bury-for",
                                   "toxigen=1", "--json").stdout)
    assert report["lineage"]["bury"] == {"share": 0.0, "version": "1", "for": {"toxigen": 1.0}}
    copies = [r for r in transfer_records(data, bury_for={"toxigen": 1.0}) if r.source.endswith("+bury")]
    assert copies and {r.source for r in copies} == {"toxigen+bury"}
    assert report["lineage"]["transfer_rows"] == len(plain) + len(copies)
    for value, said in (("stormfront=1", "--bury-for names stormfront, which the transfer set does not hold"),
                        ("toxigen=2", "--bury-for takes DATA=SHARE with SHARE a number in [0, 1]")):
        refused = invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data", "demo",
                             "--out", str(tmp_path / "refused"), "--bury-for", value)
        assert refused.returncode == 1 and said in refused.stderr and not (tmp_path / "refused").exists()
