"""Teacher vs distilled students, side by side on one test split: AUC, latency, throughput, size, and
the student/teacher ratios against the targets (>= 98 % of the teacher's AUC, p50 latency >= 20x lower
and <= 2 ms, throughput >= 50x, <= 10 MB).

Run: python benchmarks/distillation.py --teacher runs/teacher-davidson --data davidson \
         --students tfidf-lr,ngram-mlp,mini-transformer --runs runs/students
Students already distilled from this teacher under --runs are reused; missing ones are distilled first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from moderation.artifacts import load_model, read_manifest
from moderation.data import load
from moderation.distill import distill
from moderation.evaluation import base_bytes, quality, size_bytes, speed
from moderation.labeling import label, read_labels
from moderation.scoring import score_texts


def student_run(teacher: Path, name: str, data, runs: Path, params: dict) -> Path:
    out = runs / name
    fingerprint = read_manifest(teacher).fingerprint
    if (out / "manifest.json").is_file() and read_manifest(out).lineage.get("teacher_fingerprint") == fingerprint:
        return out
    distill(teacher, name, data, out, params=params)
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


def row(name: str, path: Path, scores, records, speed_texts, singles: int) -> dict:
    model = load_model(path)
    timing = speed(model, speed_texts, singles=singles)
    return {"model": name, "roc_auc": quality(scores, [r.label for r in records]).roc_auc,
            "p50_ms": timing.latency_p50_ms, "p99_ms": timing.latency_p99_ms,
            "per_s": timing.throughput_per_s, "mb": size_bytes(path) / 1e6,
            "with_base_mb": (size_bytes(path) + base_bytes(model)) / 1e6,
            "params": getattr(model, "n_parameters", None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", type=Path, required=True)
    parser.add_argument("--data", default="davidson")
    parser.add_argument("--students", default="tfidf-lr,ngram-mlp,mini-transformer")
    parser.add_argument("--runs", type=Path, default=Path("runs/students"))
    parser.add_argument("--speed-rows", type=int, default=1000, help="Test texts for the throughput timing.")
    parser.add_argument("--singles", type=int, default=200, help="Texts timed one at a time for latency.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the table as JSON here.")
    parser.add_argument("--student-param", action="append", default=[], metavar="NAME:KEY=VALUE",
                        help="A student setting, e.g. mini-transformer:max_steps=300 (repeatable).")
    args = parser.parse_args()
    data = load(args.data)
    test = data.split("test")
    texts = [r.text for r in test]
    with tempfile.TemporaryDirectory() as tmp:  # teacher test scores through the shared prediction cache
        label(args.teacher, test, Path(tmp) / "t.parquet")
        teacher_scores = read_labels(Path(tmp) / "t.parquet")["score"].to_numpy()
    speed_texts = texts[: args.speed_rows]
    rows = [row(f"teacher {read_manifest(args.teacher).model_id}", args.teacher, teacher_scores, test,
                speed_texts, args.singles)]
    for name in args.students.split(","):
        path = student_run(args.teacher, name, data, args.runs, student_params(args.student_param).get(name, {}))
        rows.append(row(name, path, score_texts(load_model(path), texts), test, speed_texts, args.singles))
    teacher = rows[0]
    print(f"{args.data} test split: {len(test):,} rows; speed on {len(speed_texts):,} texts, {args.singles} singles")
    header = f"{'model':<34}{'AUC':>8}{'p50 ms':>9}{'p99 ms':>9}{'per s':>10}{'MB':>8}{'+base':>8}{'params':>12}"
    print(header + f"{'AUC %':>8}{'p50 x':>8}{'thru x':>8}{'targets':>9}")
    for r in rows:
        auc_ratio = r["roc_auc"] / teacher["roc_auc"]
        lat_ratio = teacher["p50_ms"] / r["p50_ms"]
        thru_ratio = r["per_s"] / teacher["per_s"]
        r.update(auc_ratio=auc_ratio, latency_speedup=lat_ratio, throughput_ratio=thru_ratio,
                 meets_targets=bool(auc_ratio >= 0.98 and lat_ratio >= 20 and r["p50_ms"] <= 2
                                    and thru_ratio >= 50 and r["with_base_mb"] <= 10))
        ok = "-" if r is teacher else ("yes" if r["meets_targets"] else "no")
        print(f"{r['model'][:33]:<34}{r['roc_auc']:>8.4f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{r['per_s']:>10,.0f}{r['mb']:>8.2f}{r['with_base_mb']:>8.1f}{r['params'] or 0:>12,}"
              f"{100 * auc_ratio:>8.1f}{lat_ratio:>8.1f}{thru_ratio:>8.1f}{ok:>9}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
