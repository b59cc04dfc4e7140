"""What the SQLite caches (predictions in ``labeling``, embeddings in ``embeddings``) share."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

MAX_BOUND = 500  # parameters per statement, well under every SQLite build's limit


def rows_where_in(db: sqlite3.Connection, sql: str, keys: Sequence[str], *before: Any) -> Iterator[tuple]:
    """The rows of ``sql`` (whose ``{marks}`` slot takes an ``IN`` list) for all ``keys``, a chunk at a time;
    ``before`` are the parameters that precede the list."""
    for start in range(0, len(keys), MAX_BOUND):
        chunk = list(keys[start:start + MAX_BOUND])
        yield from db.execute(sql.format(marks=",".join("?" * len(chunk))), [*before, *chunk])
