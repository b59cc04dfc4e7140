"""ToxiGen seed statements: hate / neutral statements about 16 target groups."""

from __future__ import annotations

from moderation import hookimpl
from moderation.data import FileDataset, content_id, make_record
from moderation.protocols import Record
from moderation.tables import Row

# ToxiGen target groups -> the identity groups of moderation.identities.
GROUPS = {
    "asian": "asian", "bisexual": "bisexual", "black": "black", "chinese": "asian", "immigrant": "immigrant",
    "jewish": "jewish", "latino": "latino", "lgbtq": "homosexual_gay_or_lesbian",
    "mental_disability": "psychiatric_or_mental_illness", "mexican": "latino", "middle_east": "middle_eastern",
    "muslim": "muslim", "native_american": "native_american", "physical_disability": "physical_disability",
    "trans": "transgender", "women": "female",
}


class ToxigenDataset(FileDataset):
    """722 ToxiGen statements labeled hate / neutral, each with its target group."""

    name = "toxigen"
    license = "CDLA-Permissive-2.0"
    files = ("toxigen/toxigen_seed_statements.csv",)
    where = "Get the ToxiGen prompts from github.com/microsoft/TOXIGEN (see ../shared/data/toxigen/README.md)."
    required = ("text", "target_group", "label")

    def to_record(self, row: Row) -> Record:
        v = row.values
        if v["label"] not in ("hate", "neutral"):
            raise ValueError(f"label {v['label']!r} is not 'hate' or 'neutral'")
        if v["target_group"] not in GROUPS:
            raise ValueError(f"unknown target group {v['target_group']!r}")
        return make_record(content_id("toxigen", v["text"]), v["text"], float(v["label"] == "hate"),
                           identities=[GROUPS[v["target_group"]]], source=self.name)


@hookimpl
def register_datasets(register):
    register(ToxigenDataset)
