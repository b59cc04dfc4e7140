"""Where the project keeps its own files, and the default model that ships inside the package."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from moderation.artifacts import MANIFEST, ArtifactError

SHIPPED_MODEL = Path(__file__).with_name("models") / "default"
REBUILD = "python tools/build_default_model.py --data-dir ../shared/data"


def data_home() -> Path:
    """``$MODERATION_HOME``, else the user data directory (XDG on Linux)."""
    return Path(os.environ.get("MODERATION_HOME") or platformdirs.user_data_dir("moderation"))


def default_model_path() -> Path:
    """The default model: the distilled student shipped in the package (``moderation/models/default``)."""
    return SHIPPED_MODEL


def ensure_default_model() -> Path:
    """The shipped default model, or a clear error when the installation lacks it."""
    if not (SHIPPED_MODEL / MANIFEST).is_file():
        raise ArtifactError(f"the default model is missing from this installation ({SHIPPED_MODEL}); reinstall "
                            f"the package, pass --model PATH, or rebuild it with `{REBUILD}`")
    return SHIPPED_MODEL
