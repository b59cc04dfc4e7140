"""The demo data set shipped with the project, so that a new user needs nothing else."""

from __future__ import annotations

from pathlib import Path

from moderation import hookimpl
from moderation.data import FileDataset, make_record
from moderation.protocols import Record
from moderation.tables import Row

DEMO_CSV = Path(__file__).with_name("data") / "demo.csv"


class DemoDataset(FileDataset):
    """1,493 labeled comments sampled from Davidson tweets, ToxiGen statements and Jigsaw comments."""

    name = "demo"
    license = "MIT (Davidson) + CDLA-Permissive-2.0 (ToxiGen) + CC-BY-SA 3.0 (Jigsaw text); see data/README.md"
    files = (str(DEMO_CSV),)
    where = "It ships inside the package; reinstall the project if it is missing."
    required = ("id", "text", "toxicity", "identities", "source")

    def to_record(self, row: Row) -> Record:
        v = row.values
        return make_record(v["id"], v["text"], float(v["toxicity"]), source=v["source"],
                           identities=[g for g in v["identities"].split(";") if g])


@hookimpl
def register_datasets(register):
    register(DemoDataset)
