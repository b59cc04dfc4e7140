"""The queue database: nothing lost under concurrent writers (threads and processes) or across restarts.

Every test runs on SQLite and on PostgreSQL: a throwaway PostgreSQL 15 server the test run starts
(tests/conftest.py), or the server at MODERATION_TEST_POSTGRES_URL (a URL allowed to create databases).
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine

from moderation_web.store import AlreadyDecided, NewComment, NotFound, Store, StoreError
from tests.web_support import make_app, new_token, services

THREADS, PER_THREAD = 12, 20


def flagged(text: str) -> NewComment:
    return NewComment(text, 0.8, "review", "test-model", "api", "token:test")


def test_many_threads_submitting_through_the_api_lose_nothing(tmp_path, database_url, default_model):
    app = make_app(tmp_path, default_model, database_url=database_url, review_threshold=0.0, block_threshold=1.0)
    headers = {"Authorization": f"Bearer {new_token(app)}"}
    start = threading.Barrier(THREADS)

    def submit(thread: int) -> list[int]:
        client = app.test_client()
        start.wait()  # every thread writes at the same time
        ids = []
        for i in range(PER_THREAD):
            body = {"text": f"thread {thread} comment {i}"} if i % 2 else {
                "texts": [f"thread {thread} comment {i}", f"thread {thread} comment {i} second"]}
            response = client.post("/api/v1/moderate", json=body, headers=headers)
            assert response.status_code == 200, response.json
            ids += [response.json["queue_id"]] if "queue_id" in response.json else [
                r["queue_id"] for r in response.json["results"]]
        return ids

    with ThreadPoolExecutor(THREADS) as pool:
        ids = [i for batch in pool.map(submit, range(THREADS)) for i in batch]
    expected = {f"thread {t} comment {i}" for t in range(THREADS) for i in range(PER_THREAD)} | {
        f"thread {t} comment {i} second" for t in range(THREADS) for i in range(0, PER_THREAD, 2)}
    assert len(ids) == len(set(ids)) == len(expected)
    store = services(app).store
    page = store.comments_page(None, 1, 10_000)
    assert page.total == len(expected) and {c.text for c in page.items} == expected
    assert {c.id for c in page.items} == set(ids)


def _enqueue_in_process(url: str, worker: int, count: int) -> None:
    store = Store(url)  # its own engine and connections, as a gunicorn worker has
    for i in range(count):
        store.enqueue([flagged(f"process {worker} row {i}")])
    store.dispose()


def test_several_processes_writing_at_once_lose_nothing(database_url):
    url = database_url
    Store(url).create_schema()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_enqueue_in_process, args=(url, w, 40)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    page = Store(url).comments_page(None, 1, 1000)
    assert page.total == 160
    assert {c.text for c in page.items} == {f"process {w} row {i}" for w in range(4) for i in range(40)}


def test_everything_survives_a_restart(tmp_path, database_url, default_model):
    first = make_app(tmp_path, default_model, database_url=database_url)
    store = services(first).store
    ids = store.enqueue([flagged("kept"), flagged("decided")])
    store.decide(ids[1], "rejected", "mod", "abusive")
    token = new_token(first, "survivor")
    store.dispose()

    again = make_app(tmp_path, default_model, database_url=database_url)
    store = services(again).store
    assert store.comment(ids[0]).status == "pending"
    decided = store.comment(ids[1])
    assert (decided.status, decided.reviewer, decided.reason) == ("rejected", "mod", "abusive")
    response = again.test_client().post("/api/v1/moderate", json={"text": "hello"},
                                        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_two_moderators_deciding_at_once_exactly_one_wins(database_url):
    store = Store(database_url)
    store.create_schema()
    [comment_id] = store.enqueue([flagged("contested")])
    start = threading.Barrier(8)

    def decide(who: int) -> str:
        start.wait()
        try:
            store.decide(comment_id, "approved" if who % 2 else "rejected", f"mod{who}", None)
        except AlreadyDecided:
            return "lost"
        return "won"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(decide, range(8)))
    assert outcomes.count("won") == 1
    comment = store.comment(comment_id)
    winner = outcomes.index("won")
    assert comment.reviewer == f"mod{winner}" and comment.status == ("approved" if winner % 2 else "rejected")


def test_pages_and_counts_by_status_and_decision(database_url):
    store = Store(database_url)
    store.create_schema()
    band = store.enqueue([flagged("unsure one"), flagged("unsure two")])
    [blocked] = store.enqueue([NewComment("sure", 0.99, "block", "m", "api", "token:t")])
    store.decide(band[0], "approved", "mod", None)
    assert [c.id for c in store.comments_page("pending", 1, 10, "review").items] == [band[1]]
    assert [c.id for c in store.comments_page(None, 1, 10, "review").items] == [band[1], band[0]]
    assert [c.id for c in store.comments_page("pending", 1, 10).items] == [blocked, band[1]]
    assert store.status_counts("review") == {"pending": 1, "approved": 1, "rejected": 0}
    assert store.status_counts("block") == {"pending": 1, "approved": 0, "rejected": 0}
    assert store.status_counts() == {"pending": 2, "approved": 1, "rejected": 0}


def test_store_errors_are_clear(database_url):
    store = Store(database_url)
    store.create_schema()
    store.create_schema()  # idempotent
    with pytest.raises(NotFound, match="no comment #99"):
        store.comment(99)
    with pytest.raises(NotFound):
        store.decide(99, "approved", "mod", None)
    with pytest.raises(ValueError, match="approved or rejected"):
        store.decide(1, "maybe", "mod", None)
    store.add_user("ann", "hash")
    with pytest.raises(StoreError, match="'ann' already exists"):
        store.add_user("ann", "hash")


def test_unusable_sqlite_path_is_a_clear_error(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    with pytest.raises(StoreError, match="cannot use the database"):
        Store(f"sqlite:///{blocked / 'db.sqlite'}").create_schema()


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    store.create_schema()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_sqlite_files_are_private(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'private.db'}")
    store.create_schema()
    store.add_user("ann", "hash")
    for path in tmp_path.glob("private.db*"):  # the database and its -wal / -shm files
        assert oct(path.stat().st_mode & 0o777) == "0o600", path.name
    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    Store(f"sqlite:///{loose}").create_schema()
    assert oct(loose.stat().st_mode & 0o777) == "0o600"


def test_a_database_from_an_older_version_gets_the_new_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with create_engine(url).begin() as conn:  # the users table as version 0.1.0 made it
        conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64) NOT NULL UNIQUE, "
                             "password_hash VARCHAR(256) NOT NULL, created_at DATETIME NOT NULL)")
        conn.exec_driver_sql("INSERT INTO users VALUES (1, 'ann', 'hash', '2026-01-01 00:00:00')")
    store = Store(url)
    store.create_schema()
    store.set_disabled("ann", True)
    [ann] = store.users()
    assert ann.username == "ann" and ann.disabled_at is not None


def test_parallel_claims_never_pass_the_limit(database_url):
    from datetime import timedelta

    from moderation_web.store import RateLimit, utcnow

    store = Store(database_url)
    store.create_schema()
    limit = RateLimit(since=utcnow() - timedelta(minutes=1), per_client=7, per_subject=5)
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda i: store.claim("login", "10.0.0.1", "ann" if i % 2 else "bob", limit), range(40)))
    granted = [c for c in claims if c is not None]
    assert len(granted) == 7 and len(set(granted)) == 7
    store.forget("login", "10.0.0.1", "ann")
    assert store.claim("login", "10.0.0.1", "ann", limit) is not None  # ann's failures cleared, bob's kept
    assert store.claim("login", "10.0.0.2", "ann", limit) is not None  # another address has its own count
