"""The demo data set shipped with the project, so that a new user needs nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from moderation import hookimpl
from moderation.protocols import Record
from moderation.splits import assign_split

DEMO_CSV = Path(__file__).with_name("data") / "demo.csv"


class DemoDataset:
    """1,493 labeled comments sampled from Davidson tweets, ToxiGen statements and Jigsaw comments."""

    name = "demo"
    license = "MIT (Davidson) + CDLA-Permissive-2.0 (ToxiGen) + CC-BY-SA 3.0 (Jigsaw text); see data/README.md"

    def __init__(self, path: Path = DEMO_CSV) -> None:
        self.path = Path(path)

    def records(self) -> Iterator[Record]:
        frame = pd.read_csv(self.path, dtype={"id": str, "text": str, "identities": str}, keep_default_na=False)
        for row in frame.itertuples(index=False):
            toxicity = float(row.toxicity)
            yield Record(
                id=row.id,
                text=row.text,
                toxicity=toxicity,
                label=int(toxicity >= 0.5),
                identities=tuple(g for g in row.identities.split(";") if g),
                source=row.source,
                split=assign_split(row.text),
            )


@hookimpl
def register_datasets(register):
    register(DemoDataset)
