"""Davidson et al. (2017) tweets with per-class annotator counts: soft labels."""

from __future__ import annotations

import html

from moderation import hookimpl
from moderation.data import FileDataset, make_record
from moderation.protocols import Record
from moderation.tables import Row


class DavidsonDataset(FileDataset):
    """24,783 tweets; toxicity = (hate_speech + offensive_language) / annotators."""

    name = "davidson"
    license = "MIT (Copyright (c) 2017 Tom Davidson); tweets are Twitter user content"
    files = ("davidson/labeled_data.csv",)
    where = "Get labeled_data.csv from github.com/t-davidson/hate-speech-and-offensive-language (data/)."
    required = ("count", "hate_speech", "offensive_language", "tweet")

    def to_record(self, row: Row) -> Record:
        v = row.values
        count = int(v["count"])
        if count <= 0:
            raise ValueError(f"annotator count {count} is not positive")
        toxic = int(v["hate_speech"]) + int(v["offensive_language"])
        # Tweets carry HTML entities (&amp;, &#8220;) from the Twitter API: decode them to the text people saw.
        return make_record(f"davidson-{v.get('', row.line)}", html.unescape(v["tweet"]), toxic / count,
                           source=self.name)


@hookimpl
def register_datasets(register):
    register(DavidsonDataset)
