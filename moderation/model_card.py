"""The model card of the shipped default model (Mitchell et al. 2019, "Model Cards for Model Reporting"):
intended use, training data, metrics per data set, the disaggregated audit with the teacher beside the
student, behaviour pass rates, limitations, and how to rebuild it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from moderation.artifacts import Manifest
from moderation.augment import origin
from moderation.data import LoadedData
from moderation.plugins import canonical, get_registry
from moderation.protocols import optional
from moderation.report import label_of

WORST = 5


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "n/a"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows])


def _training_data(data: LoadedData) -> str:
    counts = Counter((origin(r), r.split) for r in data.records)
    registry = get_registry()
    rows = []
    for source in dict.fromkeys(origin(r) for r in data.records):
        license_ = optional(registry.get("dataset", canonical("dataset", source)).factory, "plugin", "license")
        rows.append([source, *(counts[(source, s)] for s in ("train", "validation", "test", "unlabeled", "audit")),
                     license_])
    return _table(["data set", "train", "validation", "test", "unlabeled (teacher-labeled)", "audit (held out)",
                   "license"], rows)


def _evaluation(evaluation: Mapping[str, Mapping[str, Any]]) -> str:
    names = list(dict.fromkeys(key.split(":", 1)[1] for key in evaluation))
    rows = []
    for name in names:
        student, teacher = evaluation.get(f"student:{name}", {}), evaluation.get(f"teacher:{name}", {})
        ratio = (student["roc_auc"] / teacher["roc_auc"]) if student and teacher else None
        rows.append([name, student.get("rows"), student.get("roc_auc"), teacher.get("roc_auc"),
                     None if ratio is None else f"{100 * ratio:.1f} %", student.get("pr_auc"), teacher.get("pr_auc")])
    return _table(["test split", "rows", "student ROC-AUC", "teacher ROC-AUC", "student / teacher",
                   "student PR-AUC", "teacher PR-AUC"], rows)


def _audit_tables(report: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {f"{name}.{table}": rows for name, audit in report.get("audits", {}).items()
            for table, rows in audit.get("tables", {}).items()}


def _final_bias(tables: Mapping[str, list[dict[str, Any]]], models: Sequence[str]) -> str:
    finals = tables.get("subgroup-auc.final", [])
    rows = []
    for data in dict.fromkeys(r["data"] for r in finals):
        by_model = {r["model"]: r for r in finals if r["data"] == data}
        rows.append([data, *(by_model.get(m, {}).get("final_bias_metric") for m in models),
                     *(by_model.get(m, {}).get("overall_auc") for m in models)])
    return _table(["audit slice", "final bias: student", "final bias: teacher", "AUC: student", "AUC: teacher"],
                  rows)


def _worst_identities(tables: Mapping[str, list[dict[str, Any]]], models: Sequence[str]) -> str:
    rows = []
    for role, model in zip(("student", "teacher"), models, strict=False):
        found = []
        for r in tables.get("subgroup-auc.identities", []):
            if r["model"] != model or r.get("too_small"):
                continue
            defined = [(r[m], m) for m in ("subgroup_auc", "bpsn_auc", "bnsp_auc") if r.get(m) is not None]
            if defined:
                value, metric = min(defined)
                found.append((value, r["data"], r["identity"], metric, r["rows"]))
        rows += [[role, data, identity, metric, value, n] for value, data, identity, metric, n in sorted(found)[:WORST]]
    return _table(["model", "slice", "identity", "metric", "AUC", "rows"], rows)


def _terms(tables: Mapping[str, list[dict[str, Any]]], models: Sequence[str]) -> str:
    terms = tables.get("templates.terms", [])
    by_model = {m: sorted((r for r in terms if r["model"] == m), key=lambda r: -(r["mean_nontoxic_score"] or 0))
                for m in models}
    rows = []
    for role, model in zip(("student", "teacher"), models, strict=False):
        rows += [[role, r["data"], r["term"], r["mean_nontoxic_score"], r["flagged_nontoxic"]]
                 for r in by_model[model][:WORST]]
    return _table(["model", "slice", "identity term", "mean score of its non-toxic sentences", "share flagged"], rows)


def _behaviour(tables: Mapping[str, list[dict[str, Any]]], models: Sequence[str]) -> str:
    rows = tables.get("behaviour.categories", [])
    by = {(r["model"], r["category"]): r for r in rows}
    out = []
    for category in dict.fromkeys(r["category"] for r in rows):
        student, teacher = (by.get((m, category), {}) for m in models[:2])
        low, high = student.get("pass_low"), student.get("pass_high")
        out.append([category, "flag" if student.get("label") else "allow", student.get("templates"),
                    student.get("rows"), student.get("pass_rate"),
                    None if low is None or high is None else f"{low:.2f}-{high:.2f}", teacher.get("pass_rate")])
    return _table(["category", "expected", "held-out templates", "rows", "pass: student", "student 95 % interval",
                   "pass: teacher"], out)


def long_text_scope(params: Mapping[str, Any], bury: float = 0.0) -> str:
    """What the student does with a comment longer than it reads at once (``long_text``, tiny-transformer),
    and whether it trained on attacks buried in friendly text (``bury``, the share of such copies)."""
    tokens = params.get("max_length", 64)
    if params.get("long_text", "truncate") == "truncate":
        return f"very long texts (only the first {tokens} tokens are read)"
    found = ("trained on such copies, it still misses some that it flags alone" if bury
             else "one hostile sentence among friendly ones is seldom flagged")
    return (f"attacks inside long friendly texts (a comment longer than {tokens} tokens is scored over overlapping "
            f"windows, {params['long_text']}; {found})")


def _averaged(build: Mapping[str, Any]) -> str:
    """The teachers whose mean score the student learned, when there were several (absent before b23)."""
    averaged = build.get("teachers_averaged") or []
    if not averaged:
        return ""
    steps = build.get("teacher_steps", [])
    recipe = f" (the recipe trained for {', '.join(map(str, steps))} steps)" if len(steps) == len(averaged) else ""
    return (f"; the student learned the mean of the scores of {len(averaged)} teachers, "
            f"{', '.join(f'`{m}`' for m in averaged)}{recipe}")


def _review_share(policy: Mapping[str, Any]) -> str:
    """How many flagged comments a human decides: absent from policies chosen before it was recorded."""
    if "review_share" not in policy:
        return ""
    return f"; {policy['review_share']:.0%} of the flagged validation rows fall between the two, for a human"


def _buried(step: Mapping[str, Any]) -> str:
    """The buried copies a build step trained on (its settings' ``bury`` and ``bury_unlabeled`` shares), as the
    card words them."""
    shares = [f"{share:.0%} of the short {rows}" for share, rows in
              ((step["bury"], "toxic rows"), (step.get("bury_unlabeled"), "unlabelled rows")) if share]
    return f", copies of {' and '.join(shares)} set inside a friendly comment" if shares else ""


def _transfer_only(build: Mapping[str, Any]) -> str:
    """The data sets only the student's transfer set read (the build's ``transfer_only``), and which teacher
    scored them: a second one trained with them (``teachers_routed``, absent before b28) or the first alone."""
    names = build["student"].get("transfer_only")
    if not names:
        return ""
    routed = build.get("teachers_routed") or {}
    if names in routed:
        return (f", and the generated sentences of `{names}` (claims about groups in many framings, labelled where "
                f"their construction decides), scored by a second teacher, `{routed[names]}`, trained like the "
                f"first with them added{_how_learnt(build['student'], names)}")
    return (f", and the teacher's scores alone over the generated unlabelled sentences of `{names}` (claims about "
            "groups in many framings)")


def _how_learnt(student: Mapping[str, Any], name: str) -> str:
    """How the students learnt data set ``name``'s rows where the build set it apart (``alpha_for``,
    ``weight_for``, ``bury_for``)."""
    alpha, weight, bury = (student.get(key, {}).get(name) for key in ("alpha_for", "weight_for", "bury_for"))
    parts = ([f"the teacher's share of their targets {alpha:g}"] if alpha is not None else []) + (
        [f"each row weighing {weight:g} in the students' loss (the rest 1)"] if weight is not None else []) + (
        [f"{bury:.0%} of its short rows also set inside a friendly comment, in its teacher's training and the "
         "students'"] if bury is not None else [])
    return f" ({'; '.join(parts)})" if parts else ""


def _seed_choice(build: Mapping[str, Any]) -> str:
    each = "; ".join(f"{name}: {f['composite']} (AUC {f['mean_auc']}, behaviour {f['mean_category_pass']})"
                     for name, f in build["seed_figures"].items())
    return (f"**{build['chosen']}** shipped, the best of {build['seeds']} students by a validation composite, the "
            f"mean of its mean ROC-AUC over {', '.join(build['chosen_on'])} and its mean behaviour-category pass "
            f"rate at its review threshold ({each}). Chosen on validation, its validation figures are optimistic; "
            "the test figures below are not.")


def render_default_card(student: Manifest, teacher: Manifest, evaluation: Mapping[str, Any],
                        policy: Mapping[str, Any], report: Mapping[str, Any], build: Mapping[str, Any],
                        data: LoadedData) -> str:
    models = [label_of(report["model"]), label_of(report["compare"]) if report.get("compare") else None]
    tables = _audit_tables(report)
    threshold = report.get("settings", {}).get("threshold")
    return f"""# Model card: the default moderation model (`{student.model_id}`)

## Model details
- A **{student.plugin}** student ({build['student']['params']}), distilled from a **{teacher.plugin}** teacher
  (`{teacher.model_id}`, LoRA on all-MiniLM-L6-v2 unless stated: {build['teacher']}){_averaged(build)}.
- {_seed_choice(build)}
- Input: one comment (English), deobfuscated by the host before scoring (fullwidth and look-alike letters,
  zero-width characters, letters stretched three times or more; words run together are not undone). Output:
  a toxicity probability in [0, 1] and, with the recommended policy, a decision: allow below
  {policy['review']}, review from {policy['review']}, block from {policy['block']}.
- Built by `{build['command']}` (script sha256 `{build['script_sha256']}`), {student.created}.
- License: MIT (code and weights); trained on the data below under their licenses (Stormfront: CC BY-SA 3.0 ES).

## Intended use
Triage of user comments on a forum or comment section: allow most, send the uncertain to a human moderator,
block the clearly abusive. Scores are to be read with the recommended policy, or with thresholds chosen on
the user's own validation data.

## Out of scope
- Decisions about people without human review (bans, legal or employment decisions).
- Languages other than English;
  {long_text_scope(build['student']['params'], build['student']['bury'])};
  images, links or context outside the comment.
- Judging whether a statement is true, or detecting spam, misinformation or self-harm.

## Training data
Pooled data sets `{build['data']}`; the teacher trained on the train split (with identity-swapped
copies{_buried(build['teacher'])}), the student on the teacher's scores over train + unlabeled rows and their
identity-swapped copies{_buried(build['student'])}, mixed with gold labels
(alpha = {build['student']['alpha']}){_transfer_only(build)}.
Audit rows are held out of everything.

{_training_data(data)}

## Recommended policy
Chosen on the {policy.get('validation_rows')} rows of the {policy['chosen_on']}: {policy['rule']}.
Review threshold {policy['review']} (recall there {policy['review_recall']:.3f}); block threshold
{policy['block']} (precision there {policy['block_precision'] if policy['block_precision'] is None
                                     else round(policy['block_precision'], 3)}){_review_share(policy)}.

## Metrics per data set (test splits, never used for any choice)
{_evaluation(evaluation)}

## Disaggregated audit (held-out identity slices; student beside teacher)
Final bias metric (Jigsaw Unintended Bias; 1 is perfect) and overall AUC per slice:

{_final_bias(tables, models)}

Worst identities (lowest of subgroup, BPSN and BNSP AUC; groups too small left out):

{_worst_identities(tables, models)}

Identity terms whose non-toxic template sentences score highest (bias-madlibs; share flagged at {threshold}):

{_terms(tables, models)}

## Behaviour tests (pass rate at the review threshold {threshold}, held-out templates)
{_behaviour(tables, models)}

## Known limitations
- Trained mostly on tweets (Davidson), Wikipedia talk pages (Jigsaw) and one forum (Stormfront): other
  registers, dialects and reclaimed slurs may score wrongly; African-American English in Davidson is
  known to be labeled offensive more often than it is.
- Profanity: Davidson and Jigsaw label profane comments toxic, the behaviour data does not when no one is
  targeted; such comments sit near the review threshold.
- Identity detection uses a word lexicon: colour words and common nouns match without identity, slurs
  are not identity terms; audits inherit that.
- Generated behaviour tests measure specific functionalities, not real-world prevalence: a high pass rate
  is necessary, not sufficient.
"""
