"""Real training runs on the shared data: minutes each, so marked slow (run with `pytest -m slow`)."""

from __future__ import annotations

import pytest

from moderation.data import load
from moderation.distill import distill
from moderation.teacher_training import train_teacher

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def test_lora_teacher_then_distilled_student_on_davidson(shared_data, tmp_path):
    data = load("davidson", shared_data)
    teacher = tmp_path / "teacher"
    manifest = train_teacher("minilm-lora", data, teacher, {"max_steps": 200, "max_length": 64, "eval_every": 100})
    assert manifest.metrics["test_roc_auc"] > 0.97
    student = distill(teacher, "ngram-mlp", data, tmp_path / "student", cache_path=tmp_path / "cache.sqlite")
    assert student.metrics["test_roc_auc"] > 0.95
    assert student.lineage["teacher_fingerprint"] == manifest.fingerprint
