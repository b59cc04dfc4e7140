"""Load test of the JSON API served the production way: gunicorn with 2 workers on loopback.

Measures requests/s, comments/s and p50/p99 latency of POST /api/v1/moderate for single comments and
for batches of 32, for the student and, in the same run, a teacher (or any second saved model) served
the same way, one server at a time; each figure is the median of --repeats runs, with the range of
requests/s beside it; prints both, then the two side by side with the student's advantage.

Run: python benchmarks/web_load.py [--student PATH] [--teacher PATH] [--requests 400] [--warmup 100]
                                   [--repeats 3] [--concurrency 8] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from moderation.artifacts import read_manifest
from moderation.data import load_records
from moderation.defaults import ensure_default_model
from moderation_web.auth import create_token
from moderation_web.store import Store

BATCH = 32
# (label, Row field, whether higher is better) for the side-by-side comparison
FIGURES = (("req/s", "requests_per_s", True), ("comments/s", "comments_per_s", True),
           ("p50 ms", "p50_ms", False), ("p99 ms", "p99_ms", False))


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    process: subprocess.Popen


@dataclass(frozen=True)
class Plan:
    requests: int  # measured, per model and mode
    warmup: int  # sent first, not measured
    concurrency: int  # client threads
    workers: int  # gunicorn workers
    repeats: int = 3  # measured runs per model and mode; figures are their medians


@dataclass(frozen=True)
class Row:
    model: str
    kind: str
    mode: str
    requests: int
    requests_per_s: float
    comments_per_s: float
    p50_ms: float
    p99_ms: float
    requests_per_s_low: float  # the range of requests/s over the repeats
    requests_per_s_high: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 120) -> dict:
    """Poll ``url`` until it answers 200; fail early, with the server's log, if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.loads(response.read())
        # Refused before the socket is bound; a read timeout while the workers are still loading the model.
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@contextmanager
def gunicorn_server(model: Path, workdir: Path, workers: int = 2, settings: dict[str, str] | None = None,
                    database: str | None = None) -> Iterator[Server]:
    """gunicorn serving ``model`` with a fresh database (SQLite in ``workdir`` unless given) and an API
    token for it, started exactly as the README's production recipe does."""
    database = database or f"sqlite:///{workdir / 'web.db'}"
    store = Store(database)
    store.create_schema()
    token, _ = create_token(store, "load-test")
    store.dispose()
    port = free_port()
    env = {**os.environ, "MODERATION_MODEL": str(model), "MODERATION_DATABASE_URL": database, **(settings or {})}
    command = [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(workers),
               "--bind", f"127.0.0.1:{port}", "moderation_web:create_app()"]
    with (workdir / "gunicorn.log").open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_healthy(f"http://127.0.0.1:{port}/api/v1/health", process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{(workdir / 'gunicorn.log').read_text()}") from None
        yield Server(f"http://127.0.0.1:{port}", token, process)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def post(server: Server, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server.url}/api/v1/moderate", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _timed(server: Server, body: dict) -> float:
    start = time.perf_counter()
    post(server, body)
    return (time.perf_counter() - start) * 1000


def load(server: Server, requests: list[dict], plan: Plan) -> tuple[float, np.ndarray]:
    """Send the requests from ``plan.concurrency`` client threads after ``plan.warmup`` unmeasured ones;
    wall seconds and per-request latencies (ms) of the measured ones."""
    with ThreadPoolExecutor(plan.concurrency) as pool:
        list(pool.map(lambda body: _timed(server, body), requests[: plan.warmup]))
        start = time.perf_counter()
        latencies = np.array(list(pool.map(lambda body: _timed(server, body), requests[plan.warmup:])))
        return time.perf_counter() - start, latencies


def bodies(texts: list[str], count: int, batch: int) -> list[dict]:
    needed = count * batch
    cycled = (texts * (needed // len(texts) + 1))[:needed]
    if batch == 1:
        return [{"text": t} for t in cycled]
    return [{"texts": cycled[i: i + batch]} for i in range(0, needed, batch)]


def measure(model: Path, texts: list[str], plan: Plan) -> list[Row]:
    manifest = read_manifest(model)
    rows = []
    with tempfile.TemporaryDirectory(prefix="web-load-") as workdir, \
            gunicorn_server(model, Path(workdir), plan.workers) as server:
        for mode, batch in (("single", 1), (f"batch {BATCH}", BATCH)):
            runs = [load(server, bodies(texts, plan.warmup + plan.requests, batch), plan) for _ in range(plan.repeats)]
            per_s = np.array([plan.requests / seconds for seconds, _ in runs])
            p50, p99 = (round(float(np.median([np.percentile(lat, q) for _, lat in runs])), 2) for q in (50, 99))
            rows.append(Row(manifest.model_id, manifest.kind, mode, plan.requests, round(float(np.median(per_s)), 1),
                            round(float(np.median(per_s)) * batch, 1), p50, p99, round(float(per_s.min()), 1),
                            round(float(per_s.max()), 1)))
    return rows


def format_table(cells: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def table(rows: list[Row]) -> str:
    header = ("model", "kind", "mode", "requests", "req/s", "comments/s", "p50 ms", "p99 ms", "req/s range")
    return format_table([header] + [(r.model, r.kind, r.mode, str(r.requests), f"{r.requests_per_s:,.1f}",
                                     f"{r.comments_per_s:,.1f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}",
                                     f"{r.requests_per_s_low:,.1f}-{r.requests_per_s_high:,.1f}") for r in rows])


def side_by_side(student: list[Row], other: list[Row]) -> str:
    """Each figure for both models and how many times better the student does (throughput up, latency down)."""
    header = ("mode", "figure", f"student {student[0].model}", f"{other[0].kind} {other[0].model}",
              "student advantage")
    cells = [header]
    for s, o in zip(student, other, strict=True):
        for figure, attr, higher_is_better in FIGURES:
            mine, theirs = getattr(s, attr), getattr(o, attr)
            advantage = mine / theirs if higher_is_better else theirs / mine
            cells.append((s.mode, figure, f"{mine:,.2f}", f"{theirs:,.2f}", f"{advantage:,.2f}x"))
    return format_table(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", type=Path, default=None, help="Default: the default model.")
    parser.add_argument("--teacher", type=Path, default=None,
                        help="A teacher, or any second saved model, to serve the same way and compare.")
    parser.add_argument("--requests", type=int, default=400, help="Measured requests per model and mode.")
    parser.add_argument("--warmup", type=int, default=100, help="Requests sent first and not measured.")
    parser.add_argument("--repeats", type=int, default=3, help="Measured runs per model and mode (median, range).")
    parser.add_argument("--concurrency", type=int, default=8, help="Client threads.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers.")
    parser.add_argument("--json", action="store_true", help="Print the rows as JSON instead of a table.")
    args = parser.parse_args()
    plan = Plan(args.requests, args.warmup, args.concurrency, args.workers, args.repeats)

    texts = [r.text for r in load_records("demo")]
    student = measure(args.student or ensure_default_model(), texts, plan)
    other = measure(args.teacher, texts, plan) if args.teacher else []
    if args.json:
        print(json.dumps([asdict(r) for r in student + other], indent=2))
        return
    print(f"POST /api/v1/moderate, gunicorn --workers {plan.workers} on loopback, {plan.concurrency} client threads, "
          f"{plan.requests} measured requests per run after {plan.warmup} unmeasured, median of {plan.repeats} runs "
          f"({os.cpu_count()} CPUs)\n")
    print(table(student + other))
    if other:
        print("\n" + side_by_side(student, other))


if __name__ == "__main__":
    main()
