"""benchmarks/web_load.py end to end, tiny: both models served by gunicorn, the table and the ratios."""

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
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "web_load.py"), "--student", str(default_model),
                             "--teacher", str(second), "--requests", "6", "--concurrency", "2", "--workers", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    model_id = read_manifest(default_model).model_id
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith(model_id)]
    # model, kind, mode (one or two words), requests, req/s, comments/s, p50 ms, p99 ms
    assert [" ".join(row[2:-5]) for row in rows] == ["single", "batch 32"] * 2
    for row in rows:
        requests, per_s, comments_per_s = int(row[-5]), float(row[-4].replace(",", "")), float(row[-3].replace(",", ""))
        assert requests == 6 and per_s > 0 and 0 < float(row[-2]) <= float(row[-1])
        assert comments_per_s == pytest.approx(per_s * (32 if row[2] == "batch" else 1), rel=0.01)
    ratios = re.findall(r"^\s+(single|batch 32)\s+student serves ([\d.,]+)x the requests/s", result.stdout, re.M)
    assert [mode for mode, _ in ratios] == ["single", "batch 32"]
