"""benchmarks/web_load.py end to end, tiny: both models served by gunicorn, their table, then side by side."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from moderation.artifacts import read_manifest
from tests.conftest import ROOT


def test_web_load_prints_student_and_second_model_side_by_side(tmp_path, default_model):
    second = tmp_path / "second"
    shutil.copytree(default_model, second)
    command = [sys.executable, str(ROOT / "benchmarks" / "web_load.py"), "--student", str(default_model),
               "--teacher", str(second), "--requests", "6", "--warmup", "2", "--concurrency", "2", "--workers", "1",
               "--repeats", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    model_id = read_manifest(default_model).model_id
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith(model_id)]
    # model, kind, mode (one or two words), requests, req/s, comments/s, p50 ms, p99 ms, req/s range
    assert [" ".join(row[2:-6]) for row in rows] == ["single", "batch 32"] * 2
    for row in rows:
        row, low_high = row[:-1], row[-1].replace(",", "")
        requests, per_s, comments_per_s = int(row[-5]), float(row[-4].replace(",", "")), float(row[-3].replace(",", ""))
        assert requests == 6 and per_s > 0 and 0 < float(row[-2]) <= float(row[-1])
        low, high = (float(v) for v in low_high.split("-"))
        assert low <= per_s <= high
        per_request = 32 if row[2] == "batch" else 1  # req/s is printed to 0.1: that rounding, times 32
        assert comments_per_s == pytest.approx(per_s * per_request, abs=0.05 * per_request + 0.05)
    side = result.stdout.split("student advantage", 1)[1].strip().splitlines()
    figures = [re.match(r"(single|batch 32)\s+(req/s|comments/s|p50 ms|p99 ms)\s", line).groups() for line in side]
    assert figures == [(mode, figure) for mode in ("single", "batch 32")
                       for figure in ("req/s", "comments/s", "p50 ms", "p99 ms")]
    assert all(re.search(r"\s[\d.,]+x$", line) for line in side)


@pytest.mark.parametrize(("setting", "expected"), [(None, 1), ("2", 2)])
def test_a_served_model_scores_on_one_torch_thread_unless_told(monkeypatch, default_model, setting, expected):
    # Two intra-op threads per worker made each comment ~100x slower beside a busy core (see docs/figures.md).
    import torch

    from moderation_web.service import ServingModel

    if setting is None:
        monkeypatch.delenv("MODERATION_THREADS", raising=False)
    else:
        monkeypatch.setenv("MODERATION_THREADS", setting)
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        ServingModel.load(default_model)
        assert torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(before)
