"""Synthetic identity-term sentences (Conversation AI bias madlibs and sentence templates): audits only."""

from __future__ import annotations

import re
from functools import cached_property

from moderation import hookimpl
from moderation.data import FileDataset, SplitPlan, make_record
from moderation.protocols import Record
from moderation.tables import Row

WORD_LIST = "bias_madlibs/word_lists/adjectives_people.txt"
WHERE = "Get it from github.com/conversationai/unintended-ml-bias-analysis (see ../shared/data/bias_madlibs)."


class _TemplateSet(FileDataset):
    split_plan = SplitPlan(audit_only=True)  # synthetic probes of bias: never training data

    @cached_property
    def _term_pattern(self) -> re.Pattern[str] | None:
        """The generator's own identity words, so each sentence is tagged with the term it was built from."""
        path = self.data_dir / WORD_LIST
        if not path.is_file():
            return None
        words = sorted({w.strip().lower() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()},
                       key=len, reverse=True)
        return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.I)

    def terms(self, text: str) -> tuple[str, ...]:
        pattern = self._term_pattern
        return tuple(dict.fromkeys(m.group(1).lower() for m in pattern.finditer(text))) if pattern else ()

    def make(self, number: int, text: str, toxic: bool) -> Record:
        return make_record(f"{self.name}-{number}", text, float(toxic), source=self.name, terms=self.terms(text))


class BiasMadlibsDataset(_TemplateSet):
    """76,564 template sentences (BAD / NOT_BAD) that differ only in the identity term."""

    name = "bias-madlibs"
    license = "Apache-2.0"
    files = ("bias_madlibs/bias_madlibs_77k.csv",)
    where = WHERE
    required = ("Text", "Label")

    def to_record(self, row: Row) -> Record:
        label = row.values["Label"]
        if label not in ("BAD", "NOT_BAD"):
            raise ValueError(f"label {label!r} is not BAD or NOT_BAD")
        return self.make(row.line, row.values["Text"], label == "BAD")


class SentenceTemplatesDataset(_TemplateSet):
    """Sentence templates with identity terms (toxic / nontoxic), per language (default en)."""

    name = "templates"
    license = "Apache-2.0"
    where = WHERE
    required = ("template", "toxicity", "phrase")

    def __init__(self, data_dir=None, lang: str = "en") -> None:
        super().__init__(data_dir)
        self.lang = lang
        self.files = (f"bias_madlibs/sentence_templates/{lang}_sentence_templates.csv",)

    def to_record(self, row: Row) -> Record:
        label = row.values["toxicity"]
        if label not in ("toxic", "nontoxic"):
            raise ValueError(f"toxicity {label!r} is not toxic or nontoxic")
        return self.make(row.line, row.values["phrase"], label == "toxic")


@hookimpl
def register_datasets(register):
    register(BiasMadlibsDataset)
    register(SentenceTemplatesDataset)
