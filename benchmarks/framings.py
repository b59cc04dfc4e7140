"""Attacks said inside a frame: asserted ("I believe {group} are filth."), negated, and rejected ("Only a
bigot would say {group} are filth."), for saved models side by side.

Run: python benchmarks/framings.py [MODEL ...] [--data-dir ../shared/data]

2,000 sentences: 10 attack predicates, each with its negation, said about 8 groups in 10 asserting frames
and 5 rejecting ones. Frames and wording were written for this probe on 2026-11-28, before any model was
trained with it in mind; none is a frame of the phrasings set (plugins/data/phrasings.json), one ("In my
opinion") opens a behaviour template, and no model trains on these sentences. Per model (default: the
shipped one), at its review threshold (its manifest's policy, else the one the build would choose on the
pooled validation split): the share of asserted attacks flagged, and the shares of negated and rejected ones
passed. Test splits are never read.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

import numpy as np

from moderation.artifacts import load_model, read_manifest
from moderation.data import load
from moderation.defaults import ensure_default_model
from moderation.scoring import score_texts

sys.path.insert(0, str(Path(__file__).parent))
from candidates import DATA, review_threshold  # noqa: E402

GROUPS = ("women", "Muslims", "gay people", "black people", "immigrants", "Jews", "trans people", "disabled people")
ASSERTING = ("I believe {c}.", "In my opinion {c}.", "It is a fact that {c}.",
             "My dad always said {c}, and he was right.", "Let me be clear: {c}.", "I have always known that {c}.",
             "Science proves {c}.", "No one can deny that {c}.", "Say what you want, {c}.", "Face facts, {c}.")
REJECTING = ("It is false that {c}.", "Only a bigot would say {c}.", "I refuse to accept that {c}.",
             "Claiming {c} is just hate.", "Some people still think {c}, which is disgusting.")
PREDICATES = (("are a disease", "are not a disease"), ("are subhuman", "are not subhuman"),
              ("are filth", "are not filth"), ("should all be deported", "should not be deported"),
              ("are a curse on this land", "are no curse on this land"),
              ("are criminals by nature", "are not criminals by nature"),
              ("are inferior to us", "are not inferior to us"), ("should be shot", "should never be shot"),
              ("are cockroaches", "are not cockroaches"), ("ruin this country", "do not ruin this country"))
KINDS = {"asserted": 1, "negated": 0, "rejected": 0}  # what a moderator should do: flag (1) or pass (0)


def sentences() -> list[tuple[str, str]]:
    """(kind, sentence) for every frame, predicate and group, in a fixed order."""
    out = []
    for frame, (attack, negation), group in itertools.product(ASSERTING, PREDICATES, GROUPS):
        out += [("asserted", frame.replace("{c}", f"{group} {attack}")),
                ("negated", frame.replace("{c}", f"{group} {negation}"))]
    out += [("rejected", frame.replace("{c}", f"{group} {attack}"))
            for frame, (attack, _), group in itertools.product(REJECTING, PREDICATES, GROUPS)]
    return [(kind, text[0].upper() + text[1:]) for kind, text in out]


def handled_right(paths: list[Path], rows: list[tuple[str, str]], expected: dict[str, int],
                  data_dir: Path | None) -> list[tuple[str, float, dict[str, float]]]:
    """Per model: its id, its review threshold (its manifest's policy, else the one the build would choose on
    the pooled validation split) and, per kind of ``rows`` (kind, sentence), the share handled as ``expected``
    says (1: flagged, 0: passed)."""
    kinds, texts = np.array([k for k, _ in rows]), [t for _, t in rows]
    pooled = ([r for name in DATA for r in load(name, data_dir).split("validation")]
              if any(not read_manifest(path).policy for path in paths) else [])
    out = []
    for path in paths:
        model = load_model(path)
        review = review_threshold(path, model, pooled)
        flagged = score_texts(model, texts) >= review
        out.append((read_manifest(path).model_id, review,
                    {kind: float(np.mean(flagged[kinds == kind] == bool(flag))) for kind, flag in expected.items()}))
    return out


def probe_arguments(description: str) -> tuple[list[Path], Path | None]:
    """A probe's command line: the models to measure (default: the shipped one) and the data folder; one thread."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path, help="Saved models (default: the shipped one).")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("MODERATION_THREADS", "1")
    return args.models or [ensure_default_model()], args.data_dir


def main() -> None:
    models, data_dir = probe_arguments(__doc__)
    rows = sentences()
    print(f"{len(rows)} framed sentences; share handled right at each model's review threshold")
    print(f"{'model':34s} {'review':>7s} {'asserted flagged':>17s} {'negated passed':>15s} {'rejected passed':>16s}")
    for model_id, review, right in handled_right(models, rows, KINDS, data_dir):
        print(f"{model_id:34s} {review:7.4f} {right['asserted']:17.3f} "
              f"{right['negated']:15.3f} {right['rejected']:16.3f}")


if __name__ == "__main__":
    main()
