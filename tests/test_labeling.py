"""Offline labeling: cached, resumable after SIGKILL with identical output, Ray equal to local."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from moderation.data import HeldOutError, load
from moderation.labeling import label, plan_batches, read_labels
from moderation.tables import InputError
from tests.conftest import BIN, make_distribution, run_cli

SLOW_STUDENT = """
import json, time
from pathlib import Path
import numpy as np
from moderation import hookimpl

class SlowStudent:
    '''Scores by word count, slowly: a batch takes 40 ms (test plugin for interrupted runs).'''
    name = "slow-student"
    def score(self, texts):
        time.sleep(0.04)
        return np.array([min(len(t.split()) / 40, 1.0) for t in texts])
    def save(self, directory):
        (Path(directory) / "slow.json").write_text("{}")
    @classmethod
    def load(cls, directory):
        return cls()

@hookimpl
def register_students(register):
    register(SlowStudent)
"""


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("slow")
    site = make_distribution(root / "site", "slow-student", "1.0", {"slow": "slow_student"},
                             {"slow_student": SLOW_STUDENT})
    env = {"PYTHONPATH": str(site)}
    code = ("from moderation.artifacts import save_model; from slow_student import SlowStudent; "
            f"save_model(SlowStudent(), {str(root / 'model')!r}, kind='student')")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **env}, timeout=120)
    return root / "model", env


def label_args(model: Path) -> list[str]:
    return ["label", "--model", str(model), "--data", "demo", "--split", "train", "--batch-size", "8"]


@pytest.fixture(scope="module")
def uninterrupted(slow_model, tmp_path_factory) -> pd.DataFrame:
    """What the killed runs must end with: one uninterrupted local run, for both engines. The Ray engine
    gives the local engine's results (test_ray_engine_gives_the_local_engine_results)."""
    model, env = slow_model
    out = tmp_path_factory.mktemp("clean")
    clean = run_cli(*label_args(model), "--out", str(out / "clean.parquet"), "--cache", str(out / "clean.sqlite"),
                    env_extra=env)
    assert clean.returncode == 0, clean.stderr
    return pd.read_parquet(out / "clean.parquet")


def test_second_run_computes_nothing_and_writes_the_same_file(default_model, tmp_path):
    records = load("demo").split("test")
    cache = tmp_path / "cache.sqlite"
    first = label(default_model, records, tmp_path / "a.parquet", cache_path=cache)
    second = label(default_model, records, tmp_path / "b.parquet", cache_path=cache)
    assert (first.computed, first.cached) == (len(records), 0)
    assert (second.computed, second.cached) == (0, len(records))
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    frame = read_labels(tmp_path / "a.parquet")
    assert list(frame["id"]) == [r.id for r in records]
    assert {"id", "text_hash", "score", "model_fingerprint"} <= set(frame.columns)
    assert frame["score"].between(0, 1).all()


RAY = importlib.util.find_spec("ray") is not None


def cached_rows(cache: Path) -> int:
    """Rows in a prediction cache that a running process may be creating: its file exists a moment before
    its table does."""
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as db:
        try:
            return db.execute("SELECT count(*) FROM predictions").fetchone()[0]
        except sqlite3.OperationalError as error:
            if "no such table" not in str(error):
                raise
            return 0


@pytest.mark.parametrize("engine", ["local", pytest.param("ray", marks=pytest.mark.skipif(
    not RAY, reason='Ray not installed (pip install ".[ray]")'))])
def test_killed_run_resumes_to_exactly_the_uninterrupted_output(slow_model, uninterrupted, tmp_path, engine):
    """Each batch is committed as it arrives, whichever engine scores it: a SIGKILL loses only what was
    in flight, and the resumed run ends with the same file as an uninterrupted one."""
    model, env = slow_model
    args = [*label_args(model), "--engine", engine]
    cache = tmp_path / "resumed.sqlite"
    proc = subprocess.Popen([str(BIN / "moderation"), *args, "--out", str(tmp_path / "resumed.parquet"),
                             "--cache", str(cache)], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = 0
    deadline = time.monotonic() + 180
    while done < 200 and time.monotonic() < deadline:  # wait until a good part, not all, is cached
        time.sleep(0.2)
        done = cached_rows(cache)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if engine == "ray":  # the killed driver's local Ray cluster would outlive it
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, timeout=120)
    assert 0 < done < 936 and not (tmp_path / "resumed.parquet").exists()
    resumed = run_cli(*args, "--out", str(tmp_path / "resumed.parquet"), "--cache", str(cache), "--json",
                      env_extra=env)
    report = json.loads(resumed.stdout)
    assert report["cached"] >= done and report["computed"] + report["cached"] == report["unique_texts"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "resumed.parquet"), uninterrupted)
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM predictions").fetchone()[0] == report["unique_texts"]


def test_held_out_and_empty_splits_are_refused(default_model, tmp_path):
    data = load("demo")
    with pytest.raises(HeldOutError):
        label(default_model, data.split("audit", "audit"), tmp_path / "x.parquet", cache_path=tmp_path / "c")
    with pytest.raises(InputError, match="split is empty"):
        label(default_model, [], tmp_path / "x.parquet", cache_path=tmp_path / "c")
    with pytest.raises(InputError, match="does not exist"):
        read_labels(tmp_path / "nope.parquet")


def test_batches_are_planned_by_length_deterministically():
    texts = ["ccc", "a", "bb", "dddd", "e"]
    assert plan_batches(texts, 2) == [[1, 4], [2, 0], [3]]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason='Ray not installed (pip install ".[ray]")')
def test_ray_engine_gives_the_local_engine_results(default_model, tmp_path):
    records = load("demo").split("test")
    local = label(default_model, records, tmp_path / "local.parquet", cache_path=tmp_path / "l.sqlite")
    ray_run = label(default_model, records, tmp_path / "ray.parquet", cache_path=tmp_path / "r.sqlite",
                    engine="ray")
    assert ray_run.computed == local.computed == len(records)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ray.parquet"),
                                  pd.read_parquet(tmp_path / "local.parquet"), check_exact=True)


@pytest.mark.ray_cluster
def test_labeling_on_a_two_node_ray_cluster_gives_the_local_results(default_model, tmp_path):
    """--ray-address against a real cluster: a head and a second node started with `ray start`."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ray = str(BIN / "ray")
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    # Ray >= 2.59 turns token authentication on for a local head when a token exists, and a joining node
    # or driver must then present it: every process of this cluster gets the same private token.
    token = tmp_path / "ray-token"
    token.write_text(os.urandom(32).hex())
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    env = {**os.environ, **auth}
    try:
        subprocess.run([ray, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                        "--include-dashboard=false", *common], check=True, capture_output=True, env=env, timeout=180)
        subprocess.run([ray, "start", f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1", *common],
                       check=True, capture_output=True, env=env, timeout=180)
        status = subprocess.run([ray, "status", f"--address=127.0.0.1:{port}"], capture_output=True, text=True,
                                env=env, timeout=120)
        for _ in range(30):  # the cluster reports its nodes a few seconds after they start
            if status.stdout.count(" node_") >= 2:
                break
            time.sleep(1)
            status = subprocess.run([ray, "status", f"--address=127.0.0.1:{port}"], capture_output=True, text=True,
                                    env=env, timeout=120)
        assert status.stdout.count(" node_") == 2, status.stdout  # a head and a second node
        out = tmp_path / "ray.parquet"
        result = run_cli("label", "--model", str(default_model), "--data", "demo", "--split", "test", "--engine",
                         "ray", "--ray-address", f"127.0.0.1:{port}", "--out", str(out), "--cache",
                         str(tmp_path / "r.sqlite"), env_extra=auth)
        assert result.returncode == 0, result.stderr
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=120, env=env)
    records = load("demo").split("test")
    label(default_model, records, tmp_path / "local.parquet", cache_path=tmp_path / "l.sqlite")
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(tmp_path / "local.parquet"),
                                  check_exact=True)
