"""The README's production recipe: gunicorn with 2 workers on loopback, and concurrent writers across them."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from moderation.artifacts import read_manifest
from moderation_web.auth import create_user
from moderation_web.store import Store
from tests.web_support import PASSWORD, csrf_token, load_benchmark

CLIENTS, PER_CLIENT = 8, 15


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def logged_in(url: str) -> urllib.request.OpenerDirector:
    """A cookie-keeping client logged in as "mod" through the login form."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(f"{url}/login") as page:
        token = csrf_token(page.read().decode())
    form = urllib.parse.urlencode({"csrf_token": token, "username": "mod", "password": PASSWORD}).encode()
    with browser.open(f"{url}/login", data=form) as page:
        assert page.url == f"{url}/queue"
    return browser


def test_gunicorn_with_two_workers_serves_and_loses_no_writes(tmp_path, default_model, database_url):
    bench = load_benchmark()
    # Every comment enters the queue, so that every request is a database write.
    settings = {"MODERATION_REVIEW_THRESHOLD": "0", "MODERATION_BLOCK_THRESHOLD": "1"}
    with bench.gunicorn_server(default_model, tmp_path, workers=2, settings=settings, database=database_url) as server:
        health = bench.wait_healthy(f"{server.url}/api/v1/health", server.process)
        assert health == {"status": "ok", "database": "ok", "model": read_manifest(default_model).model_id}
        if Path("/proc/self/task").exists():
            assert len(worker_pids(server.process.pid)) == 2

        one = bench.post(server, {"text": "you are a complete idiot"})
        assert one["decision"] == "review" and one["queue_id"] is not None
        batch = bench.post(server, {"texts": ["first", "second"]})
        assert [r["decision"] for r in batch["results"]] == ["review", "review"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            bench.post(bench.Server(server.url, "mod_wrong", server.process), {"text": "x"})
        assert refused.value.code == 401

        def client(n: int) -> list[int]:
            return [bench.post(server, {"text": f"client {n} comment {i}"})["queue_id"] for i in range(PER_CLIENT)]

        with ThreadPoolExecutor(CLIENTS) as pool:
            ids = [i for batch_ids in pool.map(client, range(CLIENTS)) for i in batch_ids]

        # Each worker read the same persisted secret key, so a session made by one is valid in the other.
        create_user(Store(database_url), "mod", PASSWORD)
        browser = logged_in(server.url)

        def open_queue(_: int) -> tuple[int, str]:
            # Closed at once: gunicorn 27 lingers up to 2 s on a connection the client leaves open.
            with browser.open(f"{server.url}/queue?status=all") as page:
                return page.status, page.url

        with ThreadPoolExecutor(CLIENTS) as pool:
            pages = list(pool.map(open_queue, range(40)))
        assert pages == [(200, f"{server.url}/queue?status=all")] * 40

    rows = Store(database_url).comments_page(None, 1, 10_000).items
    concurrent = {c.id: c.text for c in rows if c.text.startswith("client ")}
    assert len(ids) == len(set(ids)) == CLIENTS * PER_CLIENT
    assert set(concurrent) == set(ids)
    assert set(concurrent.values()) == {f"client {n} comment {i}" for n in range(CLIENTS) for i in range(PER_CLIENT)}
    assert len(rows) == CLIENTS * PER_CLIENT + 3
