"""Where the project keeps its own files, and the default model built on first use."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import platformdirs

from moderation.artifacts import MANIFEST
from moderation.data import load
from moderation.training import train_student

DEFAULT_STUDENT = "tfidf-lr"
DEFAULT_DATA = "demo"


def data_home() -> Path:
    """``$MODERATION_HOME``, else the user data directory (XDG on Linux)."""
    return Path(os.environ.get("MODERATION_HOME") or platformdirs.user_data_dir("moderation"))


def default_model_path() -> Path:
    return data_home() / "models" / "default"


def ensure_default_model() -> Path:
    """Return the default model, training it on the demo data first if it does not exist yet."""
    path = default_model_path()
    if (path / MANIFEST).is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / ".default.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several servers starting at once build it only once
        if not (path / MANIFEST).is_file():
            data = load(DEFAULT_DATA)
            train = data.split("train", "train") + data.split("validation", "train")
            test = data.split("test")
            train_student(DEFAULT_STUDENT, train, test, path,
                          lineage={"data": DEFAULT_DATA, "built": "default model, on first use"})
    return path
