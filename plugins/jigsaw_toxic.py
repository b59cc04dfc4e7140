"""The balanced 12k subset of the Jigsaw Toxic Comment data (Wikipedia talk pages), binary labels."""

from __future__ import annotations

from moderation import hookimpl
from moderation.data import FileDataset, content_id, make_record
from moderation.protocols import Record
from moderation.tables import Row


class JigsawToxicDataset(FileDataset):
    """12,174 Wikipedia talk-page comments, half toxic (balanced, not the natural base rate)."""

    name = "jigsaw-toxic"
    license = "CC0 (labels) / CC-BY-SA 3.0 (Wikipedia comment text)"
    files = ("jigsaw_toxic/jigsaw_toxic_binary_12k.csv.gz",)
    where = "It is the Jigsaw Toxic Comment subset described in ../shared/data/jigsaw_toxic/README.md."
    required = ("text", "toxic")

    def to_record(self, row: Row) -> Record:
        text = row.values["text"]
        label = int(row.values["toxic"])
        if label not in (0, 1):
            raise ValueError(f"toxic label {label} is not 0 or 1")
        return make_record(content_id("jigsaw", text), text, float(label), source=self.name)


@hookimpl
def register_datasets(register):
    register(JigsawToxicDataset)
