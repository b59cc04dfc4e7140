"""Rebuild the default model that ships in the package, end to end, from the shared data.

    python tools/build_default_model.py --data-dir ../shared/data [--work runs/default-build]

Steps, each cached in --work and skipped when its output exists with the same settings, training data,
split plan, identity lexicon, package version and plugin code (delete a step's folder, or change any of
these, to redo it); an interrupted step resumes where it stopped:

1. teacher: LoRA on the pooled data (identity-swapped and buried copies added), best checkpoint by validation;
   with ``--routed-teacher DATA`` a second one, the same recipe with DATA added, that scores DATA's transfer
   rows (b31: ``--transfer-only framed-claims --routed-teacher framed-claims``);
2. students: the transfer set (train + unlabeled rows, their swapped copies, and copies of short toxic rows
   set inside friendly text; ``--transfer-only DATA`` adds sets only the student reads, and
   ``--bury-unlabeled SHARE`` buried copies of short unlabelled rows: phrasings and 0.5 by default) labeled by
   the teachers offline (prediction cache), a student distilled from those scores mixed with gold labels, once
   per seed (``--seed S``: that seed only, so that seeds can train at once; train the teachers first, with one
   run, so that the seeds find them cached);
3. choice and policy: the seed with the best validation composite (``composite``) is the one shipped; review
   and block thresholds chosen for it on the pooled validation split;
4. evaluation: ROC-AUC per data set's test split, student beside teacher;
5. audit: bias and behaviour audits on the held-out slices, student beside teacher;
6. ship: the student, its manifest (metrics, policy, lineage) and model card into --out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from moderation import __version__
from moderation.artifacts import MODEL_CARD, load_model, read_manifest, update_manifest
from moderation.commands.common import (
    bury_shares,
    data_values,
    loss_weights,
    oversample_counts,
    teacher_routes,
    teacher_shares,
)
from moderation.data import LoadedData, fingerprint, load
from moderation.defaults import SHIPPED_MODEL
from moderation.errors import InputError
from moderation.labeling import label, read_labels
from moderation.model_card import render_default_card
from moderation.plugins import PluginError, get_registry, source_digest
from moderation.policy import BLOCK_PRECISION, REVIEW_RECALL, choose
from moderation.protocols import Record
from moderation_plugins.behaviour import category_passes

ROOT = Path(__file__).resolve().parents[1]
TRAINING_DATA = "davidson,jigsaw-toxic,toxigen,stormfront,behaviour"
EVALUATED = ("davidson", "jigsaw-toxic", "toxigen", "stormfront")
AUDITED = "toxigen,bias-madlibs,behaviour,stormfront,davidson"
AUDIT_LIMIT = 10_000  # held-out rows of each audited data set, by hash: bias-madlibs holds out 76,564
TEACHER_STEPS = (1500,)  # one teacher of the recipe per step count: the students learn the mean of their scores
TEACHER = {"teacher": "minilm-lora", "steps": TEACHER_STEPS[0], "max_length": 64, "augment": 1, "bury": 0.2,
           "base": None, "target_modules": None, "oversample": {"stormfront": 2}}
STUDENT = {"student": "tiny-transformer", "alpha": 0.5, "augment": 2, "perturb": 0, "bury": 0.2, "oversample": {},
           "params": {"max_steps": 9000, "dim": 128, "ffn": 384, "layers": 2, "max_length": 64,
                      "long_text": "window-mean"}}
TRANSFER_ONLY = "phrasings"  # sets the first teacher does not read, only the students (b22: docs/figures.md)
ROUTED = ""  # sets whose transfer rows a second teacher, trained with them, scores (none in b22; b31: docs/figures.md)
BURY_UNLABELED = 0.5         # the share of the students' short unlabelled rows also buried in friendly text
SEEDS = 3  # students trained; one ships: seeds differ by whole behaviour templates passed or failed
CHOSEN_ON = ("davidson", "jigsaw-toxic", "stormfront", "behaviour")  # toxigen's validation split has 24 rows
POLICY = {"review_recall": REVIEW_RECALL, "block_precision": BLOCK_PRECISION}


def inputs(data: LoadedData) -> dict[str, Any]:
    """What a cached step also depends on besides its settings: the training rows (texts and labels),
    how they are split, the identity lexicon the swapped copies come from, and this package's version."""
    return {"data_sha256": fingerprint(data.records), "split_plan": data.split_plan_version,
            "lexicon": data.lexicon_version, "moderation": __version__}


def stamp_ok(folder: Path, settings: dict[str, Any]) -> bool:
    stamp = folder.with_name(folder.name + ".settings.json")
    return (folder / "manifest.json").is_file() and stamp.is_file() and json.loads(stamp.read_text()) == settings


def write_stamp(folder: Path, settings: dict[str, Any]) -> None:
    folder.with_name(folder.name + ".settings.json").write_text(json.dumps(settings, indent=2, sort_keys=True))


def moderation(*args: str) -> None:
    command = [str(Path(sys.executable).with_name("moderation")), *args]
    print("+", shlex.join(command), flush=True)
    subprocess.run(command, check=True)


def teacher_step(work: Path, data_dir: Path, settings: dict[str, Any], depends: dict[str, Any],
                 name: str = "teacher", data: str = TRAINING_DATA) -> Path:
    """The teacher trained on ``data`` (``depends``: its inputs), cached in ``work / name``."""
    out = work / name
    stamp = {**settings, **depends, "code": source_digest("teacher", settings["teacher"])}
    if stamp_ok(out, stamp):
        return out
    args = ["teacher", "train", "--plugin", settings["teacher"], "--data", data, "--data-dir",
            str(data_dir), "--out", str(out), "--steps", str(settings["steps"]), "--max-length",
            str(settings["max_length"]), "--augment", str(settings["augment"]), "--bury", str(settings["bury"])]
    if settings["base"]:
        args += ["--base", settings["base"]]
    if settings["target_modules"]:
        args += ["--target-modules", settings["target_modules"]]
    args += [a for key in ("oversample", "bury_for") for k, v in settings.get(key, {}).items()
             for a in (f"--{key.replace('_', '-')}", f"{k}={v}")]
    moderation(*args)
    write_stamp(out, stamp)
    return out


def with_bury_for(settings: dict[str, Any], bury_for: dict[str, float], data: str) -> dict[str, Any]:
    """A teacher's ``settings`` with the ``--bury-for`` shares of the data sets it trains on (no key when none:
    the stamps of teachers trained before the option existed still match)."""
    own = {name: share for name, share in bury_for.items() if name in data.split(",")}
    return {**settings, "bury_for": own} if own else settings


def teacher_steps(spec: str) -> list[int]:
    """The step counts of ``--teacher-steps`` ("3000,1500"), or [] when one is not a positive whole number."""
    parts = [p.strip() for p in spec.split(",")]
    return [int(p) for p in parts] if all(p.isdigit() and int(p) > 0 for p in parts) else []


def student_recipe(transfer_only: str, bury_unlabeled: float, alpha_for: dict[str, float] | None = None,
                   weight_for: dict[str, float] | None = None, bury_for: dict[str, float] | None = None,
                   params: dict[str, Any] | None = None) -> dict[str, Any]:
    """STUDENT with the build's options (``params`` replace some of its plugin parameters); an option left empty
    adds no key, so that the stamps of runs made before it existed still match."""
    return {**STUDENT, "params": {**STUDENT["params"], **(params or {})},
            **({"bury_unlabeled": bury_unlabeled} if bury_unlabeled else {}),
            **({"transfer_only": transfer_only} if transfer_only else {}),
            **({"alpha_for": alpha_for} if alpha_for else {}),
            **({"weight_for": weight_for} if weight_for else {}),
            **({"bury_for": bury_for} if bury_for else {})}


def student_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--student-param`` values as plugin parameters, refused here (not hours later, after the teacher) when
    the student plugin does not take them."""
    params = data_values(pairs, "--student-param takes KEY=VALUE")
    if params:
        get_registry().create("student", STUDENT["student"], **{**STUDENT["params"], **params})
    return params


def student_data(settings: dict[str, Any]) -> str:
    """The student's data sets: the teacher's, and sets of unlabelled rows that only its transfer set reads."""
    return ",".join(filter(None, (TRAINING_DATA, settings.get("transfer_only"))))


def student_step(work: Path, data_dir: Path, teacher: Path, settings: dict[str, Any], seed: int,
                 extra_teachers: list[Path], routes: dict[str, Path], depends: dict[str, Any]) -> Path:
    """The student of ``seed`` distilled from the teacher, or from the mean of its scores and
    ``extra_teachers``'; the rows of each data set in ``routes`` scored by the saved teacher named there instead.
    ``depends`` are the inputs of ``student_data``."""
    out = work / f"student-seed{seed}"
    full = {**settings, **depends, "seed": seed, "teacher": read_manifest(teacher).fingerprint,
            "code": source_digest("student", settings["student"])}
    if extra_teachers:
        full["extra_teachers"] = [read_manifest(t).fingerprint for t in extra_teachers]
    if routes:
        full["teacher_for"] = {name: read_manifest(t).fingerprint for name, t in routes.items()}
    if stamp_ok(out, full):
        return out
    params = [a for k, v in {**settings["params"], "seed": seed}.items() for a in ("--param", f"{k}={json.dumps(v)}")]
    params += [a for key in ("oversample", "alpha_for", "weight_for", "bury_for")
               for k, v in settings.get(key, {}).items() for a in (f"--{key.replace('_', '-')}", f"{k}={v}")]
    params += [a for t in extra_teachers for a in ("--teacher", str(t))]
    params += [a for name, t in routes.items() for a in ("--teacher-for", f"{name}={t}")]
    if settings.get("bury_unlabeled"):
        params += ["--bury-unlabeled", str(settings["bury_unlabeled"])]
    moderation("distill", "--teacher", str(teacher), "--student", settings["student"], "--data", student_data(settings),
               "--data-dir", str(data_dir), "--out", str(out), "--alpha", str(settings["alpha"]),
               "--augment", str(settings["augment"]), "--perturb", str(settings["perturb"]),
               "--bury", str(settings["bury"]), "--cache", str(work / "predictions.sqlite"), *params)
    write_stamp(out, full)
    return out


def cached_scores(model: Path, records: list, work: Path, name: str) -> np.ndarray:
    """Scores through the labeling cache: a rerun of the build scores nothing twice."""
    out = work / "scores" / f"{name}.parquet"
    label(model, records, out, cache_path=work / "predictions.sqlite")
    labels = read_labels(out)
    by_id = dict(zip(labels["id"], labels["score"], strict=True))
    return np.array([by_id[r.id] for r in records])


def evaluation_step(work: Path, data_dir: Path, models: dict[str, Path]) -> dict[str, Any]:
    """ROC-AUC and PR-AUC on each data set's test split, for every model."""
    table = {}
    for name in EVALUATED:
        test = load(name, data_dir).split("test")
        labels = [r.label for r in test]
        for role, path in models.items():
            scores = cached_scores(path, test, work, f"{role}-{name}-test")
            table[f"{role}:{name}"] = {"rows": len(test), "roc_auc": round(float(roc_auc_score(labels, scores)), 4),
                                       "pr_auc": round(float(average_precision_score(labels, scores)), 4)}
    return table


def composite(records: list[Record], scores: np.ndarray, review: float) -> dict[str, float]:
    """What a seed is chosen by, on the pooled validation split: the mean of its ROC-AUC per data set of
    CHOSEN_ON, and its mean behaviour-category pass rate at its own review threshold; ``composite`` is the
    mean of the two (general quality and behaviour weigh alike)."""
    sources, labels = np.array([r.source for r in records]), np.array([r.label for r in records])
    figures = {f"auc_{name}": float(roc_auc_score(labels[sources == name], scores[sources == name]))
               for name in CHOSEN_ON}
    passes = category_passes(records, scores, review)
    figures["mean_auc"] = float(np.mean([figures[f"auc_{name}"] for name in CHOSEN_ON]))
    figures["mean_category_pass"] = float(np.mean([k / n for k, n in passes.values()]))
    figures["composite"] = (figures["mean_auc"] + figures["mean_category_pass"]) / 2
    return {key: round(value, 4) for key, value in figures.items()}


def choice_step(work: Path, data: LoadedData, students: list[Path]) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The student with the highest validation composite, its policy, and every seed's figures."""
    validation = data.split("validation")
    labels = [r.label for r in validation]
    policies, figures = {}, {}
    for student in students:
        scores = cached_scores(student, validation, work, f"{student.name}-validation")
        policy = choose(scores, labels, **POLICY)
        policies[student.name] = {**policy, "chosen_on": f"validation split of {TRAINING_DATA}"}
        figures[student.name] = composite(validation, scores, policy["review"])
    best = max(students, key=lambda s: figures[s.name]["composite"])  # ties: the lowest seed
    return best, policies[best.name], figures


def audit_step(work: Path, data_dir: Path, student: Path, teacher: Path, threshold: float) -> dict[str, Any]:
    out = work / "audit"
    if not (out / "report.json").is_file():
        moderation("audit", "--model", str(student), "--compare", str(teacher), "--data", AUDITED, "--data-dir",
                   str(data_dir), "--limit", str(AUDIT_LIMIT), "--threshold", str(threshold), "--out", str(out),
                   "--json")
    return json.loads((out / "report.json").read_text())


def ship(student: Path, out: Path, metrics: dict[str, Any], policy: dict[str, Any], card: str,
         build: dict[str, Any]) -> None:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(student, out, ignore=shutil.ignore_patterns(".*"))
    out.chmod(0o755)  # package data: readable wherever the package is installed
    for path in out.iterdir():
        path.chmod(0o644)
    manifest = read_manifest(out)
    update_manifest(out, policy=policy, metrics={**manifest.metrics, **metrics},
                    lineage={**manifest.lineage, "build": build})
    (out / MODEL_CARD).write_text(card, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="The shared data folder.")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "default-build",
                        help="Where each step's output is cached.")
    parser.add_argument("--out", type=Path, default=SHIPPED_MODEL, help="Where the shipped model goes.")
    parser.add_argument("--teacher-base", default=None, help="A local encoder for the teacher (default MiniLM).")
    parser.add_argument("--teacher-modules", default=None,
                        help="LoRA target modules of --teacher-base, e.g. q,k,v,o,dense for all-mpnet-base-v2.")
    parser.add_argument("--teacher-steps", default=",".join(map(str, TEACHER_STEPS)), metavar="N[,N...]",
                        help="Training steps of the teacher; several, comma-separated, train one teacher each "
                             "(the first is the teacher the student is compared with) and the students learn the "
                             "mean of their scores (default %(default)s).")
    parser.add_argument("--teacher-oversample", action="append", default=[], metavar="DATA=N",
                        help="Repeat the teacher's training rows from data set DATA N times (repeatable); "
                             "replaces the recipe's stormfront=2.")
    parser.add_argument("--extra-teacher", type=Path, action="append", default=[],
                        help="Another saved teacher: the student learns the mean of its and the built teacher's "
                             "scores (repeatable; label it into --work's predictions.sqlite to reuse its labels).")
    parser.add_argument("--teacher-for", action="append", default=[], metavar="DATA=PATH",
                        help="A saved teacher that scores data set DATA's transfer rows instead of the built one "
                             "(repeatable), e.g. the one best on DATA's validation split.")
    parser.add_argument("--transfer-only", default=TRANSFER_ONLY, metavar="DATA",
                        help="Data set(s) that only the students' transfer sets read, scored by the teacher alone "
                             "unless --routed-teacher names them ('' for none: the recipe of the previous default, "
                             "b19).")
    parser.add_argument("--routed-teacher", default=ROUTED, metavar="DATA",
                        help="Data set(s) of --transfer-only whose transfer rows a second teacher scores: the build "
                             "trains it with the teacher's recipe on the teacher's data plus DATA's labelled rows "
                             "(default none, the shipped recipe; b31: framed-claims).")
    parser.add_argument("--bury-unlabeled", type=float, default=BURY_UNLABELED, metavar="SHARE",
                        help="Share of the students' short unlabelled transfer rows also set inside friendly text, "
                             "scored by the teacher (0: none).")
    parser.add_argument("--alpha-for", action="append", default=[], metavar="DATA=A",
                        help="The teacher's share of the students' targets on data set DATA's rows (repeatable; the "
                             f"rest take alpha = {STUDENT['alpha']}), e.g. framed-claims=1.0: its teacher's scores "
                             "alone.")
    parser.add_argument("--weight-for", action="append", default=[], metavar="DATA=W",
                        help="The weight of data set DATA's rows in the students' loss (repeatable; the rest weigh "
                             "1), e.g. framed-claims=0.5.")
    parser.add_argument("--bury-for", action="append", default=[], metavar="DATA=SHARE",
                        help="The share of data set DATA's short toxic and unlabelled rows set inside friendly text "
                             "(repeatable; the rest take the recipe's), for the students and every teacher that "
                             "trains on DATA, e.g. framed-claims=1.0.")
    parser.add_argument("--student-param", action="append", default=[], metavar="KEY=VALUE",
                        help="A parameter of the student plugin replacing the recipe's (repeatable; recipe: "
                             f"{json.dumps(STUDENT['params'])}), e.g. max_steps=13500.")
    parser.add_argument("--seeds", type=int, default=SEEDS, metavar="N",
                        help=f"Student seeds to train and choose from (default {SEEDS}; fewer when time is short: "
                             "the card records it).")
    parser.add_argument("--seed", type=int, default=None,
                        help="Train the teacher and this seed's student only (0 to --seeds - 1), then stop: run "
                             "one per core or machine at once; a later run without --seed finds them cached.")
    args = parser.parse_args()
    steps = teacher_steps(args.teacher_steps)
    if not steps:
        parser.error(f"--teacher-steps takes positive step counts separated by commas (got {args.teacher_steps!r})")
    if args.seeds < 1 or (args.seed is not None and not 0 <= args.seed < args.seeds):
        parser.error(f"--seeds must be at least 1 and --seed between 0 and --seeds - 1 (got {args.seeds}, {args.seed})")
    routed = [name for name in args.routed_teacher.split(",") if name]
    if set(routed) - set(filter(None, args.transfer_only.split(","))):
        parser.error(f"--routed-teacher names data sets of --transfer-only only (got {args.routed_teacher!r})")
    os.environ.setdefault("MODERATION_DATA_DIR", str(args.data_dir))
    args.work.mkdir(parents=True, exist_ok=True)
    teacher_settings = {**TEACHER, "base": args.teacher_base, "steps": steps[0],
                        "target_modules": args.teacher_modules}
    try:
        routes = teacher_routes(tuple(args.teacher_for))
        if args.teacher_oversample:
            teacher_settings["oversample"] = oversample_counts(tuple(args.teacher_oversample))
        bury_for = bury_shares(tuple(args.bury_for))
        student_settings = student_recipe(args.transfer_only, args.bury_unlabeled,
                                          teacher_shares(tuple(args.alpha_for)), loss_weights(tuple(args.weight_for)),
                                          bury_for, student_params(tuple(args.student_param)))
    except (InputError, PluginError) as error:
        parser.error(str(error))
    unread = set(bury_for) - set(student_data(student_settings).split(","))
    if unread:
        parser.error(f"--bury-for names {', '.join(sorted(unread))}, which the students do not read "
                     f"({student_data(student_settings)})")
    data = load(TRAINING_DATA, args.data_dir)  # loaded once: the stamps, the policy and the card read it
    teacher, *others = [teacher_step(args.work, args.data_dir,
                                     with_bury_for({**teacher_settings, "steps": n}, bury_for, TRAINING_DATA),
                                     inputs(data), "teacher" if i == 0 else f"teacher-{n}")
                        for i, n in enumerate(steps)]
    extra_teachers = [*others, *args.extra_teacher]
    for name in routed:
        with_it = f"{TRAINING_DATA},{name}"
        routes[name] = teacher_step(args.work, args.data_dir, with_bury_for(teacher_settings, bury_for, with_it),
                                    inputs(load(with_it, args.data_dir)), f"teacher+{name}", with_it)
    if args.transfer_only:
        data = load(student_data(student_settings), args.data_dir)
    depends = inputs(data)  # a fingerprint of every row: computed once, not per seed
    seeds_to_train = range(args.seeds) if args.seed is None else [args.seed]
    students = [student_step(args.work, args.data_dir, teacher, student_settings, seed, extra_teachers, routes,
                             depends) for seed in seeds_to_train]
    if args.seed is not None:
        print(f"Trained {students[0]}; run again without --seed to choose, evaluate, audit and ship.")
        return
    student, policy, seeds = choice_step(args.work, data, students)
    print(f"Chose {student.name} of {args.seeds} by validation composite: {json.dumps(seeds)}", flush=True)
    evaluation = evaluation_step(args.work, args.data_dir, {"student": student, "teacher": teacher})
    report = audit_step(args.work, args.data_dir, student, teacher, policy["review"])
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    averaged = [read_manifest(t).model_id for t in (teacher, *extra_teachers)] if extra_teachers else []
    build = {"command": f"python tools/build_default_model.py --data-dir {args.data_dir}"
                        + (f" --teacher-base {args.teacher_base}" if args.teacher_base else "")
                        + (f" --teacher-modules {args.teacher_modules}" if args.teacher_modules else "")
                        + (f" --teacher-steps {','.join(map(str, steps))}" if tuple(steps) != TEACHER_STEPS else "")
                        + "".join(f" --teacher-oversample {o}" for o in args.teacher_oversample)
                        + "".join(f" --extra-teacher {t}" for t in args.extra_teacher)
                        + "".join(f" --teacher-for {r}" for r in args.teacher_for)
                        + f" --transfer-only {shlex.quote(args.transfer_only)} --bury-unlabeled {args.bury_unlabeled}"
                        + (f" --routed-teacher {shlex.quote(args.routed_teacher)}" if args.routed_teacher else "")
                        + "".join(f" --alpha-for {a}" for a in args.alpha_for)
                        + "".join(f" --weight-for {w}" for w in args.weight_for)
                        + "".join(f" --bury-for {b}" for b in args.bury_for)
                        + (f" --seeds {args.seeds}" if args.seeds != SEEDS else ""),
             "script_sha256": code, "data": TRAINING_DATA, "teacher": teacher_settings, "teacher_steps": steps,
             "teachers_averaged": averaged,
             "teachers_routed": {name: read_manifest(routes[name]).model_id for name in routed},
             "student": student_settings,
             "seeds": args.seeds, "chosen_on": CHOSEN_ON, "seed_figures": seeds, "chosen": student.name,
             "policy": POLICY, "audited": AUDITED, "audit_limit": AUDIT_LIMIT,
             "teacher_model": read_manifest(teacher).model_id}
    load_model(student)  # refuse to ship what does not load
    card = render_default_card(read_manifest(student), read_manifest(teacher), evaluation, policy, report, build,
                               data)
    flat = {(f"test_{k.split(':')[1]}_{m}" if k.startswith("student:") else f"teacher_test_{k.split(':')[1]}_{m}"): v
            for k, row in evaluation.items() for m, v in row.items() if m != "rows"}
    ship(student, args.out, flat, policy, card, build)
    print(f"Shipped {read_manifest(args.out).model_id} to {args.out}; policy {policy['review']} / {policy['block']}")


if __name__ == "__main__":
    main()
