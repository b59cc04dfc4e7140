"""Stormfront forum sentences (de Gibert et al. 2018), labelled hate / noHate: talk about a group vs attacks."""

from __future__ import annotations

from moderation import hookimpl
from moderation.data import FileDataset, make_record
from moderation.protocols import Record
from moderation.tables import Row


class StormfrontDataset(FileDataset):
    """10,703 sentences from a white-supremacist forum; most talk about groups without attacking them."""

    name = "stormfront"
    license = "CC BY-SA 3.0 ES (de Gibert et al. 2018, Vicomtech/hate-speech-dataset)"
    files = ("stormfront/stormfront_sentences.csv",)
    where = "Get it from github.com/Vicomtech/hate-speech-dataset (see ../shared/data/stormfront/README.md)."
    required = ("file_id", "text", "label")

    def to_record(self, row: Row) -> Record:
        v = row.values
        if v["label"] not in ("hate", "noHate"):
            raise ValueError(f"label {v['label']!r} is not 'hate' or 'noHate'")
        post, _, sentence = v["file_id"].partition("_")
        if not post or not sentence:
            raise ValueError(f"file_id {v['file_id']!r} is not <post>_<sentence>")
        # The sentences of one post share a split: a model must not train on a post it is tested on.
        return make_record(f"stormfront-{v['file_id']}", v["text"], float(v["label"] == "hate"),
                       source=self.name, group=f"stormfront:{post}")


@hookimpl
def register_datasets(register):
    register(StormfrontDataset)
