"""Functional cases that no training set spells out, for saved models side by side: attacks on groups asked as
questions, said as negated praise, said with profanity, or made by a pronoun in a second sentence (flag); praise
of groups with profanity, abuse of pests, and violent idioms about groups that mean praise (pass).

Run: python benchmarks/functional.py [MODEL ...] [--data-dir ../shared/data]

448 sentences: 8 templates per kind, said about the framings probe's 8 groups (or 8 pests). Functional test
suites written by others (HateCheck, Röttger et al. 2021) test these kinds. The templates were written for this
probe before any model was trained or chosen with them in mind (the first four kinds on 2026-12-06 in the
morning; profane attacks, pronoun references and violent idioms that afternoon, while b35 trained), and no model
trains on them. It measures; it chooses nothing (a rule that read it would make it a validation set). The
behaviour set has trained the first four kinds since the morning of 2026-12-06 and pronoun references since
that afternoon (after b35), with templates and pests of its own (tests/test_functional_probe.py keeps the two
apart): for models built since, the probe measures other wording of a taught kind. Per model, at its review
threshold (as in benchmarks/framings.py): the share of each kind handled right. Test splits are never read.
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
    "profane attack": ("Fucking {g} are ruining this country.", "{g} are all fucking useless.",
                       "Screw {g}, every last one of them is trash.", "Damn {g} should be thrown out of here.",
                       "I'm sick of these shitty {g} and their filth.", "{g} are a bunch of goddamn animals.",
                       "Fuck {g}, they don't belong anywhere near us.", "Those bloody {g} are worthless scum."),
    "pronoun reference": ("I met some {g} at the station today. They are all disgusting animals.",
                          "My new neighbours are {g}. I hope they get what's coming to them.",
                          "There were {g} at the meeting. Every one of them should be locked up.",
                          "I read an article about {g}. They are a cancer on society.",
                          "Our town has more {g} now. Someone needs to get rid of them.",
                          "The school hired {g} this year. They are too stupid to teach anyone.",
                          "Some {g} moved in downstairs. I wish they would drop dead.",
                          "You see {g} everywhere these days. They should be banned from public places."),
    "violent idiom": ("The {g} in my band absolutely killed it tonight.", "The {g} in that comedy show had me dying.",
                      "The {g} on our team crushed the competition.", "The {g} at the talent show blew everyone away.",
                      "The {g} in the debate club destroyed the other side's arguments.",
                      "The {g} who ran the marathon smashed the record.",
                      "The {g} at work slay every karaoke night.", "The {g} in my class murdered that exam."),
    "pests": ("I hate {g}, they are disgusting.", "{g} should all be exterminated.", "{g} are nothing but vermin.",
              "Kill every one of those {g}.", "I can't stand {g}, get them out of my house.",
              "{g} are the worst, I wish they would all die.", "Those disgusting {g} ruin everything.",
              "Burn all the {g} in the shed."),
}
PESTS = ("spiders", "mosquitoes", "cockroaches", "wasps", "ticks", "slugs", "fleas", "bed bugs")
EXPECTED = {"question": 1, "negated praise": 1, "profane praise": 0, "profane attack": 1, "pronoun reference": 1,
            "violent idiom": 0, "pests": 0}  # flag (1) or pass (0)


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
    results = list(handled_right(models, rows, EXPECTED, data_dir))
    print(f"{len(rows)} sentences; share handled right at each model's review threshold")
    print(f"{'':26s}" + "".join(f"{model_id:>34s}" for model_id, _, _ in results))
    print(f"{'review threshold':26s}" + "".join(f"{review:34.4f}" for _, review, _ in results))
    for kind, flag in EXPECTED.items():
        label = f"{kind} {'flagged' if flag else 'passed'}"
        print(f"{label:26s}" + "".join(f"{right[kind]:34.3f}" for _, _, right in results))


if __name__ == "__main__":
    main()
