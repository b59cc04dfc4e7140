"""Rebuild plugins/data/demo.csv, the small demo data set shipped with the project.

Samples, with a fixed seed, from the Davidson tweets (MIT), ToxiGen seed statements
(CDLA-Permissive-2.0) and Jigsaw Wikipedia talk comments (CC0 labels, CC-BY-SA 3.0 text)
in ../shared/data. Run: python tools/make_demo_data.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import hashlib
import html
from pathlib import Path

import pandas as pd

from moderation_plugins.toxigen import GROUPS

SEED = 20261126
OUT = Path(__file__).resolve().parents[1] / "plugins" / "data" / "demo.csv"


def davidson(data_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(data_dir / "davidson" / "labeled_data.csv", index_col=0)
    quota = {2: 300, 1: 250, 0: 50}  # neither / offensive / hate: more balanced than the source
    parts = [df[df["class"] == c].sample(n, random_state=SEED) for c, n in quota.items()]
    df = pd.concat(parts)
    return pd.DataFrame({
        "id": [f"davidson-{i}" for i in df.index],
        "text": [html.unescape(t).strip() for t in df["tweet"]],
        "toxicity": ((df["hate_speech"] + df["offensive_language"]) / df["count"]).round(4),
        "identities": "",
        "source": "davidson",
    })


def toxigen(data_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(data_dir / "toxigen" / "toxigen_seed_statements.csv")
    df = pd.concat([df[df["label"] == lab].sample(150, random_state=SEED) for lab in ("hate", "neutral")])
    return pd.DataFrame({
        "id": ["toxigen-" + hashlib.sha256(t.encode()).hexdigest()[:12] for t in df["text"]],
        "text": df["text"].str.strip(),
        "toxicity": (df["label"] == "hate").astype(float),
        "identities": df["target_group"].map(GROUPS),
        "source": "toxigen",
    })


def jigsaw(data_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(data_dir / "jigsaw_toxic" / "jigsaw_toxic_binary_12k.csv.gz")
    df = pd.concat([df[df["toxic"] == lab].sample(300, random_state=SEED) for lab in (1, 0)])
    return pd.DataFrame({
        "id": [f"jigsaw-{i}" for i in df.index],
        "text": df["text"].str.strip(),
        "toxicity": df["toxic"].astype(float),
        "identities": "",
        "source": "jigsaw_toxic",
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    parts = [davidson(args.data_dir), toxigen(args.data_dir), jigsaw(args.data_dir)]
    demo = pd.concat(parts).sample(frac=1.0, random_state=SEED)
    demo = demo.drop_duplicates("text")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    demo.to_csv(OUT, index=False)
    print(f"wrote {len(demo)} rows to {OUT}")


if __name__ == "__main__":
    main()
