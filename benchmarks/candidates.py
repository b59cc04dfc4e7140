"""Candidate default models side by side on validation only: how a new build is kept or dropped.

Run: python benchmarks/candidates.py moderation/models/default runs/build3/student [more saved models ...]
         [--data-dir ../shared/data] [--min-class 10] [--madlibs 10000] [--buried 500] [--audit-limit 10000]

Per model, on the validation split of each data set: ROC-AUC; the Jigsaw final bias metric over the rows that
mention an identity (metrics resting on fewer than --min-class rows of a class left out); and on the behaviour
set's validation templates: ROC-AUC, the mean score per category, and the pass rate per category (with its
number of templates: one template that fails whole costs the category about 1 / templates) at the model's
recommended review threshold (its manifest's policy; for a model without one, the threshold the build
would choose: recall >= 0.90 on the pooled validation split), with the lowest category's pass rate and the
mean over the categories; for each model after the first, the validation templates it fails that the first
passes (most of a template's rows right) and the reverse, with an example sentence of each; and the share
of --buried toxic behaviour sentences flagged alone and once buried in an excerpt of a friendly jigsaw-toxic
validation comment (moderation.burying), buried also per category. On a
validation slice of bias-madlibs (--madlibs sentences chosen by a hash of their own, none of the --audit-limit
sentences the build and command D audit): the final bias metric, the highest mean score of an identity term's
non-toxic sentences, and the spread (highest minus lowest) of the mean score of the non-toxic sentences that
name each person of the generator's name list (with --names, each person's mean). For each model after the
first, the paired DeLong 95% interval of its AUC minus the first model's, per data set: how much of a
difference the validation split can resolve. Test splits and audited rows are never read.
"""

from __future__ import annotations

import argparse
import heapq
import os
import re
from pathlib import Path

import numpy as np

from moderation.artifacts import load_model, read_manifest
from moderation.audit import CachedScorer, headline, run_audits
from moderation.burying import BURIED_MARK, buried
from moderation.data import HELD_OUT, get_dataset, load
from moderation.fairness import AuditSettings, auc, auc_delta, bias_aucs, final_bias_metric, identity_groups
from moderation.policy import choose
from moderation.protocols import Record
from moderation.scoring import score_texts
from moderation.splits import hash_point, split_key
from moderation_plugins.behaviour import category_of, category_passes, template_passes

NAMES = "bias_madlibs/word_lists/names.txt"
DATA = ("davidson", "jigsaw-toxic", "toxigen", "stormfront", "behaviour")


def madlibs_validation(data_dir: Path | None, audit_limit: int, rows: int) -> list[Record]:
    """bias-madlibs sentences to choose on: ``rows`` of them by a hash of their own, none among the
    ``audit_limit`` sentences the test audits read. The file carries no template ids, so these come from
    the same templates as the audited ones: a choice made here is a choice for this generator."""
    audited = {r.id for r in load("bias-madlibs", data_dir, limit=audit_limit).split(HELD_OUT, "audit")}
    rest = [r for r in load("bias-madlibs", data_dir).split(HELD_OUT, "audit") if r.id not in audited]
    return heapq.nsmallest(rows, rest, key=lambda r: hash_point(split_key(r.text), "validation"))


def name_means(records: list[Record], scores: np.ndarray, names_file: Path) -> dict[str, float]:
    """The mean score of the non-toxic sentences naming each person (of ``names_file``, the generator's own
    list; names with fewer than 15 such sentences left out)."""
    names = [n.strip() for n in names_file.read_text(encoding="utf-8").splitlines() if n.strip()]
    means = {}
    for name in names:
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        chosen = [s for r, s in zip(records, scores, strict=True) if r.label == 0 and pattern.search(r.text)]
        if len(chosen) >= 15:
            means[name] = float(np.mean(chosen))
    return means


def buried_pairs(sets: dict[str, list[Record]], rows: int) -> tuple[list[str], list[str], list[str]]:
    """``rows`` toxic behaviour validation sentences (by hash), each alone and buried in an excerpt of a
    friendly jigsaw-toxic validation comment (``moderation.burying``), and each one's behaviour category:
    does the attack still decide?"""
    attacks = heapq.nsmallest(rows, (r for r in sets["behaviour"] if r.label == 1),
                              key=lambda r: hash_point(r.id, "buried"))
    copies = buried([*attacks, *(r for r in sets["jigsaw-toxic"] if r.label == 0)], share=1.0)
    alone = {r.id: r for r in attacks}
    sources = [alone[c.id.rpartition(BURIED_MARK)[0]] for c in copies]
    return [r.text for r in sources], [c.text for c in copies], [category_of(r) for r in sources]


def passed_templates(templates: dict[str, dict[str, tuple[int, int]]]) -> dict[str, bool]:
    """Per behaviour template: whether most of its rows were right (templates pass or fail nearly whole)."""
    return {group: 2 * k >= n for per_template in templates.values() for group, (k, n) in per_template.items()}


def template_changes(first: dict[str, bool], other: dict[str, bool]) -> tuple[list[str], list[str]]:
    """The templates ``first`` passes and ``other`` fails (lost), and those ``other`` passes and ``first``
    fails (gained): a one-seed gate on category rates passes or fails on one template, so name them."""
    return ([g for g, ok in first.items() if ok and not other[g]],
            [g for g, ok in first.items() if other[g] and not ok])


def review_threshold(path: Path, model, pooled) -> float:
    policy = read_manifest(path).policy
    if policy:
        return float(policy["review"])
    scores = score_texts(model, [r.text for r in pooled])
    return float(choose(scores, [r.label for r in pooled], review_recall=0.90, block_precision=0.95)["review"])


def measure(path: Path, sets: dict, pooled, madlibs: list[Record], names_file: Path, min_class: int,
            first: dict[str, np.ndarray] | None, pairs: tuple[list[str], list[str], list[str]],
            every_name: bool = False) -> tuple[dict[str, float | None], dict[str, np.ndarray], dict[str, bool]]:
    """One model's validation figures, its scores per data set and which behaviour templates it passes; with
    ``first`` (the first model's scores), the paired interval of the AUC difference from it."""
    model = load_model(path)
    row: dict[str, float | None] = {"review threshold": review_threshold(path, model, pooled)}
    all_scores, per_template = {}, {}
    for name, records in sets.items():
        labels = np.array([r.label for r in records])
        scores = all_scores[name] = score_texts(model, [r.text for r in records])
        row[f"AUC {name} ({len(records)})"] = auc(labels, scores).value
        if first is not None:
            delta = auc_delta(labels, scores, first[name], 0.95)
            row[f"  minus first, 95% low {name}"], row[f"  minus first, 95% high {name}"] = delta.low, delta.high
        groups = identity_groups(records, 1)
        per_group = {g.name: bias_aucs(labels, scores, g.member, min_class) for g in groups}
        row[f"final bias {name}"] = final_bias_metric(auc(labels, scores), per_group).value
        if name == "behaviour":
            passes = {c: k / n for c, (k, n) in category_passes(records, scores, row["review threshold"]).items()}
            per_template = template_passes(records, scores, row["review threshold"])
            templates = {c: len(t) for c, t in per_template.items()}
            categories = np.array([category_of(r) for r in records])
            for category, rate in passes.items():
                row[f"pass {category} ({templates[category]} templates)"] = rate
                row[f"mean score {category}"] = float(scores[categories == category].mean())
            row["lowest category pass"] = min(passes.values())
            row["mean category pass"] = float(np.mean(list(passes.values())))
    alone, buried_texts, attack_categories = pairs
    row[f"pass attacks alone ({len(alone)})"] = float((score_texts(model, alone) >= row["review threshold"]).mean())
    flagged = score_texts(model, buried_texts) >= row["review threshold"]
    row[f"pass attacks buried ({len(buried_texts)})"] = float(flagged.mean())
    attacked = np.array(attack_categories)
    for category in dict.fromkeys(attack_categories):
        row[f"  buried {category} ({(attacked == category).sum()})"] = float(flagged[attacked == category].mean())
    scorer = CachedScorer(model, "m")
    run = run_audits(("subgroup-auc", "templates"), {"m": scorer}, {"bias-madlibs": madlibs}, {"bias-madlibs"},
                     AuditSettings(threshold=row["review threshold"]), True)
    row.update({f"{key} (madlibs validation)": value for key, value in headline(run, "m").items()})
    means = name_means(madlibs, score_texts(scorer, [r.text for r in madlibs]), names_file)
    row["name spread (madlibs validation)"] = max(means.values()) - min(means.values()) if means else None
    if every_name:
        row.update({f"name {name} (madlibs validation)": mean for name, mean in means.items()})
    return row, all_scores, passed_templates(per_template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--min-class", type=int, default=10)
    parser.add_argument("--madlibs", type=int, default=10_000, help="bias-madlibs validation sentences.")
    parser.add_argument("--buried", type=int, default=500,
                        help="Toxic behaviour validation sentences scored alone and buried in friendly text.")
    parser.add_argument("--audit-limit", type=int, default=10_000,
                        help="bias-madlibs sentences the test audits read (by hash), kept out of validation.")
    parser.add_argument("--names", action="store_true",
                        help="Also print each person's mean score on the non-toxic bias-madlibs sentences naming them.")
    args = parser.parse_args()
    if args.data_dir:
        os.environ.setdefault("MODERATION_DATA_DIR", str(args.data_dir))
    sets = {name: load(name, args.data_dir).split("validation") for name in DATA}
    pooled = [r for records in sets.values() for r in records]
    madlibs = madlibs_validation(args.data_dir, args.audit_limit, args.madlibs)
    names_file = get_dataset("bias-madlibs", args.data_dir).data_dir / NAMES
    pairs = buried_pairs(sets, args.buried)
    rows, first, passed = {}, None, {}
    for path in args.models:
        name = f"{read_manifest(path).model_id} ({path.name})"
        rows[name], scores, passed[name] = measure(path, sets, pooled, madlibs, names_file, args.min_class,
                                                   first, pairs, args.names)
        first = first or scores
    changes = {n: template_changes(next(iter(passed.values())), passed[n]) for n in list(passed)[1:]}
    for n, (lost, gained) in changes.items():
        rows[n]["templates failed the first passes"] = len(lost)
        rows[n]["templates passed the first fails"] = len(gained)
    names = list(rows)
    print(f"validation only; bias metrics leave out what rests on < {args.min_class} rows of a class\n")
    print(f"{'':<36}" + "".join(f"{n[:30]:>32}" for n in names))
    for key in dict.fromkeys(k for row in rows.values() for k in row):
        cells = [rows[n].get(key) for n in names]
        print(f"{key:<36}" + "".join(f"{'n/a' if c is None else f'{c:.4f}':>32}" for c in cells))
    examples: dict[str, str] = {}
    for r in sets["behaviour"]:
        examples.setdefault(r.group, r.text)
    for n, (lost, gained) in changes.items():
        print(f"\n{n}: behaviour validation templates failed (-) that the first model passes, passed (+) that it fails")
        for sign, groups in (("-", lost), ("+", gained)):
            for group in groups:
                print(f"  {sign} {group.removeprefix('behaviour/')}: {examples[group]}")


if __name__ == "__main__":
    main()
