"""The moderators' own labels: every comment approved (not toxic) or rejected (toxic) in the web app's
review queue, and every label a client sent to ``POST /api/v1/feedback``, read from the web app's store.

Pool it with other data to train on what moderators decided: ``moderation distill --teacher T --data
davidson,reviews --alpha 0.5`` mixes the teacher's scores with those labels. The store is the one the web
app uses (``MODERATION_DATABASE_URL``, else SQLite in the data folder), so any database URL the web app
takes works here. Rows get the same canonical records, identity matching and split plan as every data set.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path

from moderation import hookimpl
from moderation.data import make_record
from moderation.protocols import Record
from moderation.tables import Rejected


class ReviewsDataset:
    """Comments decided by moderators (rejected = toxic, approved = not), from the web app's database."""

    name = "reviews"
    license = "your own moderators' decisions on your own platform's comments"

    def __init__(self, data_dir: str | Path | None = None, database_url: str | None = None) -> None:
        from moderation_web.settings import Settings

        self.url = database_url or Settings.from_env().resolved_database_url()

    @functools.cached_property
    def _decided(self) -> list:
        """One read of the store per instance: present(), records() and version() see the same snapshot."""
        from moderation_web.store import Store

        store = Store(self.url)
        try:
            store.create_schema()  # an older store gets the columns this version reads
            return store.decided()
        finally:
            store.dispose()

    def present(self) -> bool:
        from moderation_web.store import StoreError

        try:
            return bool(self._decided)
        except StoreError:
            return False

    def records(self) -> Iterator[Record | Rejected]:
        from moderation_web.store import REJECTED

        for comment in self._decided:
            try:
                yield make_record(f"review-{comment.id}", comment.text, 1.0 if comment.status == REJECTED else 0.0,
                                  source=f"{self.name}/{comment.source}")
            except ValueError as exc:
                yield Rejected(comment.id, str(exc), comment.text)

    def version(self) -> str:
        digest = hashlib.sha256()
        for comment in self._decided:
            digest.update(f"{comment.id}:{comment.status}\n".encode())
        return digest.hexdigest()[:12]


@hookimpl
def register_datasets(register):
    register(ReviewsDataset)
