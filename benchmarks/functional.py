"""Functional cases that no training set spells out, for saved models side by side: attacks on groups asked as
questions and said as negated praise (flag), praise of groups with profanity and abuse of pests (pass).

Run: python benchmarks/functional.py [MODEL ...] [--data-dir ../shared/data]

256 sentences: 8 templates per kind, said about the framings probe's 8 groups (or 8 pests). Functional test
suites written by others (HateCheck, Röttger et al. 2021) test these kinds; the templates here were written
for this probe on 2026-12-06, before any model was trained or chosen with it in mind, and no model trains on
them. It measures; it chooses nothing (a rule that read it would make it a validation set). The behaviour set
has trained these kinds since 2026-12-06, with templates and pests of its own (tests/test_functional_probe.py
keeps the two apart): for models built since, the probe measures other wording of a taught kind. Per model, at
its review threshold (as in benchmarks/framings.py): the share of each kind handled right. Test splits are never
read.
"""

from __future__ import annotations

import itertools

from framings import GROUPS, handled_right, probe_arguments

TEMPLATES = {
    "question": ("Why are {g} so disgusting?", "Why do {g} ruin everything they touch?",
                 "Isn't it obvious that {g} are parasites?", "Why should we let {g} live near our children?",
                 "Who else thinks {g} should be wiped out?", "Don't you agree that {g} are a plague?",
                 "How can anyone stand {g}, those filthy rats?", "Wouldn't this country be better without {g}?"),
    "negated praise": ("{g} are never any good.", "{g} have never contributed anything of value.",
                       "There is nothing decent about {g}.", "I have never met any {g} worth respecting.",
                       "{g} will never be as smart as the rest of us.", "Not one of those {g} deserves respect.",
                       "{g} have never been good for this country.", "Nothing good has ever come from {g}."),
    "profane praise": ("{g} are fucking awesome.", "I love {g}, they're bloody brilliant.",
                       "Hell yes, {g} deserve equal rights!", "Damn, the {g} in my class are so smart.",
                       "Holy shit, I'm so proud of my friends who are {g}.", "{g} are damn good neighbours.",
                       "My coworkers who are {g} are fucking legends.", "Shit yeah, more {g} in parliament!"),
    "pests": ("I hate {g}, they are disgusting.", "{g} should all be exterminated.", "{g} are nothing but vermin.",
              "Kill every one of those {g}.", "I can't stand {g}, get them out of my house.",
              "{g} are the worst, I wish they would all die.", "Those disgusting {g} ruin everything.",
              "Burn all the {g} in the shed."),
}
PESTS = ("spiders", "mosquitoes", "cockroaches", "wasps", "ticks", "slugs", "fleas", "bed bugs")
EXPECTED = {"question": 1, "negated praise": 1, "profane praise": 0, "pests": 0}  # flag (1) or pass (0)


def sentences() -> list[tuple[str, str]]:
    """(kind, sentence) for every template and group (pests for the ``pests`` kind), in a fixed order."""
    out = []
    for kind, templates in TEMPLATES.items():
        targets = PESTS if kind == "pests" else GROUPS
        out += [(kind, template.replace("{g}", target)) for template, target in itertools.product(templates, targets)]
    return [(kind, text[0].upper() + text[1:]) for kind, text in out]


def main() -> None:
    models, data_dir = probe_arguments(__doc__)
    rows = sentences()
    print(f"{len(rows)} sentences; share handled right at each model's review threshold")
    print(f"{'model':34s} {'review':>7s} " + " ".join(f"{k + (' flagged' if f else ' passed'):>21s}"
                                                   for k, f in EXPECTED.items()))
    for model_id, review, right in handled_right(models, rows, EXPECTED, data_dir):
        print(f"{model_id:34s} {review:7.4f} " + " ".join(f"{right[k]:21.3f}" for k in EXPECTED))


if __name__ == "__main__":
    main()
