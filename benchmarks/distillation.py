"""The speed / quality / fairness front of distilled students, beside their teacher, on one split.

Run: python benchmarks/distillation.py --teacher runs/default-build/teacher \
         --data davidson,jigsaw-toxic,toxigen,stormfront,behaviour --split validation \
         --students tfidf-lr,ngram-mlp,mini-transformer,tiny-transformer --runs runs/students \
         --augment 2 --alpha 0.5 --threads 1 --repeats 3 [--student-param NAME:KEY=VALUE ...]
         [--student-dir LABEL=PATH ...]

Per model: ROC-AUC on --split of --data; the Jigsaw final bias metric over that split's rows that mention an
identity (each identity against the rest of the split); the behaviour pass rate per category on the
behaviour rows of --split at 0.5; p50 single-comment latency and batch throughput (median and range of
--repeats runs, --threads torch threads); the size of its own files and with the base checkpoint it loads.
Choose students on validation; report test once. Students are distilled into --runs, each in a folder named
by a hash of everything that shapes it (teacher, data, student settings, alpha, augmentation, code version),
so a changed setting never reuses a stale student.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

import moderation
from moderation.artifacts import load_model, read_manifest
from moderation.data import load
from moderation.distill import distill
from moderation.encoders import use_all_cores
from moderation.evaluation import base_bytes, size_bytes, speed
from moderation.fairness import auc, bias_aucs, final_bias_metric, identity_groups
from moderation.labeling import label, read_labels
from moderation.plugins import get_registry, source_digest
from moderation.scoring import score_texts
from moderation_plugins.behaviour import category_passes


def student_run(teacher: Path, name: str, data, runs: Path, params: dict, alpha: float, augment: int) -> Path:
    info = get_registry().get("student", name)
    key = json.dumps({"teacher": read_manifest(teacher).fingerprint, "data": data.name, "student": name,
                      "params": params, "alpha": alpha, "augment": augment, "moderation": moderation.__version__,
                      "plugin": f"{info.distribution} {info.version}",
                      "code": source_digest("student", name)}, sort_keys=True)
    out = runs / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    if not (out / "manifest.json").is_file():
        distill(teacher, name, data, out, params=params, alpha=alpha, augment=augment)
    return out


def student_params(pairs: list[str]) -> dict[str, dict]:
    """``NAME:KEY=VALUE`` pairs, values read as JSON where they parse."""
    params: dict[str, dict] = {}
    for pair in pairs:
        name, _, setting = pair.partition(":")
        key, _, value = setting.partition("=")
        try:
            params.setdefault(name, {})[key] = json.loads(value)
        except json.JSONDecodeError:
            params.setdefault(name, {})[key] = value
    return params


def fairness(records, scores: np.ndarray) -> dict[str, float | None]:
    labels = np.array([r.label for r in records])
    groups = identity_groups(records, 20)
    per_group = {g.name: bias_aucs(labels, scores, g.member) for g in groups}
    final = final_bias_metric(auc(labels, scores), per_group, [g.name for g in groups if g.too_small])
    row: dict[str, float | None] = {"final bias": final.value}
    for category, (k, n) in category_passes(records, scores, 0.5).items():
        row[f"pass {category}"] = k / n
    return row


def measure(name: str, path: Path, scores: np.ndarray, records, texts: list[str], repeats: int) -> dict:
    model = load_model(path)
    runs = [speed(model, texts, singles=200) for _ in range(repeats)]
    p50 = [r.latency_p50_ms for r in runs]
    per_s = [r.throughput_per_s for r in runs]
    return {"model": name, "roc_auc": auc(np.array([r.label for r in records]), scores).value,
            **fairness(records, scores), "p50_ms": float(np.median(p50)), "p50_range": (min(p50), max(p50)),
            "per_s": float(np.median(per_s)), "per_s_range": (min(per_s), max(per_s)),
            "mb": size_bytes(path) / 1e6, "with_base_mb": (size_bytes(path) + base_bytes(model)) / 1e6,
            "params": getattr(model, "n_parameters", None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", type=Path, required=True)
    parser.add_argument("--data", default="davidson,jigsaw-toxic,toxigen,stormfront,behaviour")
    parser.add_argument("--split", default="validation", choices=("validation", "test"))
    parser.add_argument("--students", default="tfidf-lr,ngram-mlp,mini-transformer,tiny-transformer",
                        help="Students to distill here (comma-separated; empty for none).")
    parser.add_argument("--runs", type=Path, default=Path("runs/students"))
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--augment", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads while timing.")
    parser.add_argument("--repeats", type=int, default=3, help="Timing runs per model (median and range).")
    parser.add_argument("--speed-rows", type=int, default=1000, help="Texts for the throughput timing.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the table as JSON here.")
    parser.add_argument("--student-param", action="append", default=[], metavar="NAME:KEY=VALUE",
                        help="A student setting, e.g. mini-transformer:max_steps=400 (repeatable).")
    parser.add_argument("--student-dir", action="append", default=[], metavar="LABEL=PATH",
                        help="Also compare a student already distilled from --teacher (its manifest is checked).")
    args = parser.parse_args()
    data = load(args.data)
    records = data.split(args.split)
    texts = [r.text for r in records]
    with tempfile.TemporaryDirectory() as tmp:  # teacher scores through the shared prediction cache
        label(args.teacher, records, Path(tmp) / "t.parquet")
        teacher_scores = read_labels(Path(tmp) / "t.parquet")["score"].to_numpy()
    paths = {f"teacher {read_manifest(args.teacher).plugin}": (args.teacher, teacher_scores)}
    settings = student_params(args.student_param)
    for name in filter(None, args.students.split(",")):
        path = student_run(args.teacher, name, data, args.runs, settings.get(name, {}), args.alpha, args.augment)
        paths[name] = (path, score_texts(load_model(path), texts))
    for pair in args.student_dir:
        name, _, path = pair.partition("=")
        if read_manifest(path).lineage.get("teacher_fingerprint") != read_manifest(args.teacher).fingerprint:
            raise SystemExit(f"{path} was not distilled from {args.teacher}")
        paths[name] = (Path(path), score_texts(load_model(path), texts))
    os.environ["MODERATION_THREADS"] = str(args.threads)
    use_all_cores()  # reads the variable just set: --threads torch threads
    speed_texts = texts[: args.speed_rows]
    rows = [measure(name, path, scores, records, speed_texts, args.repeats) for name, (path, scores) in paths.items()]
    teacher = rows[0]
    for r in rows:
        r.update(auc_ratio=r["roc_auc"] / teacher["roc_auc"], latency_speedup=teacher["p50_ms"] / r["p50_ms"],
                 throughput_ratio=r["per_s"] / teacher["per_s"])
    print(f"{args.data}, {args.split} split: {len(records):,} rows; timing on {len(speed_texts):,} texts, "
          f"200 singles, {args.threads} thread(s), median of {args.repeats} (range)")
    keys = [k for k in rows[0] if k not in ("model", "p50_range", "per_s_range")]
    print(f"{'':<26}" + "".join(f"{r['model'][:20]:>22}" for r in rows))
    for key in keys:
        cells = [r.get(key) for r in rows]
        print(f"{key:<26}" + "".join(f"{c:>22.4f}" if isinstance(c, float) else f"{c!s:>22}" for c in cells))
    print(f"{'p50 ms range':<26}" + "".join(f"{r['p50_range'][0]:>16.2f}-{r['p50_range'][1]:<5.2f}" for r in rows))
    print(f"{'per s range':<26}" + "".join(f"{r['per_s_range'][0]:>16.0f}-{r['per_s_range'][1]:<5.0f}" for r in rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
