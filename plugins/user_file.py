"""A user's own CSV or JSONL file: a text column, a label or toxicity column, optional identity columns
(the Civil Comments layout: ``comment_text``, ``target``, ``male``, ``female``, ``black``, ...)."""

from __future__ import annotations

import json
from pathlib import Path

from moderation import hookimpl
from moderation.data import DataError, FileDataset, content_id, make_record
from moderation.identities import GROUPS
from moderation.protocols import Record
from moderation.tables import Row, open_table

TEXT_COLUMNS = ("text", "comment_text", "comment", "tweet", "body", "content")
TOXICITY_COLUMNS = ("toxicity", "target", "label", "toxic", "is_toxic")
ID_COLUMNS = ("id", "comment_id")
LABEL_WORDS = {"toxic": 1.0, "nontoxic": 0.0, "non-toxic": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}
CIVIL_COMMENTS_EXTRA = ("other_gender", "other_sexual_orientation", "other_race_or_ethnicity", "other_disability")


class UserFileDataset(FileDataset):
    """Your own CSV/JSONL: text + label/toxicity columns, optional Civil Comments identity columns."""

    name = "user-file"
    license = "yours"
    where = "Check the path you gave."

    def __init__(self, data_dir=None, path: str | Path | None = None, text_column: str | None = None,
                 label_column: str | None = None) -> None:
        super().__init__(data_dir)
        if path is None:
            raise DataError("the user-file data set needs a file: pass its path as the data set name, e.g. "
                            "--data my_comments.csv")
        self.path = Path(path)
        self.files = (str(self.path.resolve()),)
        self.text_column, self.label_column = text_column, label_column
        self.source = self.path.name

    def _columns(self) -> list[str]:
        table = open_table(self.path)
        try:
            if table.header:
                return table.header
            first = next((row for row in table.rows if hasattr(row, "values")), None)
            return list(first.values) if first else []
        finally:
            table.rows.close()

    def _pick(self, given: str | None, candidates: tuple[str, ...], what: str, columns: list[str]) -> str:
        if given is not None:
            if given not in columns:
                raise DataError(f"{self.path} has no {what} column {given!r} (columns: {', '.join(columns)})")
            return given
        found = next((c for c in candidates if c in columns), None)
        if found is None:
            raise DataError(f"{self.path}: no {what} column found among {', '.join(columns) or 'no columns'}; "
                            f"name one of {', '.join(candidates)} or pass --{what}-column")
        return found

    def records(self):
        if self.path.is_file():
            columns = self._columns()
            self.text_column = self._pick(self.text_column, TEXT_COLUMNS, "text", columns)
            self.label_column = self._pick(self.label_column, TOXICITY_COLUMNS, "label", columns)
            self.identity_columns = [c for c in (*GROUPS, *CIVIL_COMMENTS_EXTRA) if c in columns]
            self.id_column = next((c for c in ID_COLUMNS if c in columns), None)
            self.required = (self.text_column, self.label_column)
        yield from super().records()

    def to_record(self, row: Row) -> Record:
        v = row.values
        text = v[self.text_column]
        if not isinstance(text, str):
            raise ValueError(f"{self.text_column} is {json.dumps(text)}, not text")
        raw = v[self.label_column]
        toxicity = LABEL_WORDS[raw.strip().lower()] if isinstance(raw, str) and raw.strip().lower() in LABEL_WORDS \
            else float(raw)
        identities = [c for c in self.identity_columns if _present(v.get(c))]
        record_id = str(v[self.id_column]) if self.id_column else content_id(self.source, text)
        return make_record(record_id, text, toxicity, identities=identities, source=self.source)


def _present(value: object) -> bool:
    """Civil Comments identity columns hold annotator fractions; empty means not annotated."""
    if value in (None, ""):
        return False
    try:
        return float(value) >= 0.5
    except (TypeError, ValueError):
        return False


@hookimpl
def register_datasets(register):
    register(UserFileDataset)
