"""Saved models: a directory with the plugin's files, ``manifest.json`` and ``MODEL_CARD.md``.

The manifest names the plugin that wrote the model, so ``load_model(path)`` reloads any of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from moderation.errors import UserError
from moderation.plugins import PluginError, get_registry
from moderation.protocols import Scorer

# The names plugins and scripts may rely on; anything else here may change without notice.
__all__ = ["MANIFEST", "MODEL_CARD", "ArtifactError", "Manifest", "read_manifest", "save_model", "update_manifest",
           "load_model"]

MANIFEST = "manifest.json"
MODEL_CARD = "MODEL_CARD.md"
FORMAT_VERSION = 1
SCORER_KINDS = ("teacher", "student")


class ArtifactError(UserError):
    """A model directory is missing, incomplete or unreadable."""


@dataclass
class Manifest:
    """What a saved model is and where it came from."""

    kind: str
    plugin: str
    plugin_version: str
    distribution: str
    params: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)  # recommended thresholds (moderation.policy.choose)
    fingerprint: str = ""
    created: str = ""
    format_version: int = FORMAT_VERSION

    @property
    def model_id(self) -> str:
        return f"{self.plugin}@{self.fingerprint[:12]}"


FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str, "plugin": str, "plugin_version": str, "distribution": str, "params": dict,
    "data_fingerprint": (str, type(None)), "metrics": dict, "lineage": dict, "policy": dict, "fingerprint": str,
    "created": str, "format_version": int,
}


def _read_into(digest: Any, path: Path) -> None:
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    _read_into(digest, path)
    return digest.hexdigest()


def digest_files(named: Iterable[tuple[str, Path]]) -> str:
    """One sha256 over (name, contents) pairs in the given order: stable across copies of the files."""
    digest = hashlib.sha256()
    for name, path in named:
        digest.update(name.encode() + b"\0")
        _read_into(digest, path)
    return digest.hexdigest()


def files_fingerprint(directory: Path) -> str:
    """Content hash of a model's own files (manifest and card excluded), stable across copies."""
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    return digest_files((rel, path) for path in files
                        if (rel := path.relative_to(directory).as_posix()) not in (MANIFEST, MODEL_CARD))


def read_manifest(directory: str | Path) -> Manifest:
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ArtifactError(f"model directory {directory} does not exist; pass --model with a saved model")
    if not path.is_file():
        raise ArtifactError(
            f"{directory} has no {MANIFEST}: it is not a saved model (or was only partly copied)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest(**data)
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
        raise ArtifactError(
            f"{path} is corrupt ({type(exc).__name__}: {exc}); re-create the model or restore the file"
        ) from exc
    wrong = [f.name for f in fields(Manifest) if not isinstance(getattr(manifest, f.name), FIELD_TYPES[f.name])]
    if wrong:
        raise ArtifactError(f"{path} is corrupt: {', '.join(wrong)} of the wrong type; re-create the model "
                            "or restore the file")
    return manifest


def render_card(manifest: Manifest, notes: str = "") -> str:
    metrics = "\n".join(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
                        for k, v in sorted(manifest.metrics.items()))
    params = "\n".join(f"- `{k}` = `{v!r}`" for k, v in sorted(manifest.params.items())) or "- (defaults)"
    lineage = "\n".join(f"- {k}: `{v}`" for k, v in sorted(manifest.lineage.items())) or "- (none recorded)"
    return f"""# Model card: {manifest.plugin} ({manifest.kind})

- Model id: `{manifest.model_id}`
- Plugin: `{manifest.plugin}` from `{manifest.distribution}` {manifest.plugin_version}
- Created: {manifest.created}
- Training data fingerprint: `{manifest.data_fingerprint}`

## Parameters
{params}

## Lineage
{lineage}

## Metrics
| metric | value |
| --- | --- |
{metrics}

## Notes
{notes or "Scores are toxicity probabilities in [0, 1]; decisions come from the serving policy thresholds."}
"""


def save_model(
    scorer: Scorer,
    directory: str | Path,
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    data_fingerprint: str | None = None,
    metrics: dict[str, Any] | None = None,
    lineage: dict[str, Any] | None = None,
    notes: str = "",
) -> Manifest:
    """Save ``scorer`` with its manifest and card; the directory appears whole or not at all."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not (directory / MANIFEST).exists():
        raise ArtifactError(f"{directory} exists and is not a saved model; refusing to overwrite it")
    info = get_registry().get(kind, scorer.name)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        scorer.save(staging)
        manifest = Manifest(
            kind=kind,
            plugin=info.name,
            plugin_version=info.version,
            distribution=info.distribution,
            params=params or {},
            data_fingerprint=data_fingerprint,
            metrics=metrics or {},
            lineage={**torch_threads(), **(lineage or {})},
            fingerprint=files_fingerprint(staging),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n")
        (staging / MODEL_CARD).write_text(render_card(manifest, notes), encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def torch_threads() -> dict[str, int]:
    """The torch intra-op thread count the model was trained with, when torch was used: training on CPU is
    deterministic for a given count, not across counts (seed 0 on 1 and on 2 threads gives other weights)."""
    torch = sys.modules.get("torch")  # never imported here: a scikit-learn model needs no torch
    return {"torch_threads": torch.get_num_threads()} if torch is not None else {}


def update_manifest(directory: str | Path, **changes: Any) -> Manifest:
    """Replace manifest fields of a saved model (its files, and so its fingerprint, stay as they are)."""
    directory = Path(directory)
    manifest = replace(read_manifest(directory), **changes)
    staging = directory / f".{MANIFEST}.tmp"
    staging.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n")
    os.replace(staging, directory / MANIFEST)
    return manifest


def load_model(directory: str | Path) -> Scorer:
    """Reload a saved model through the plugin its manifest names."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest.kind not in SCORER_KINDS:
        raise ArtifactError(f"{directory}: manifest kind {manifest.kind!r} is not one of {SCORER_KINDS}")
    try:
        info = get_registry().get(manifest.kind, manifest.plugin)
    except PluginError as exc:
        raise ArtifactError(
            f"{directory} was saved by {manifest.kind} plugin {manifest.plugin!r} "
            f"({manifest.distribution} {manifest.plugin_version}), which cannot be used here: {exc}"
        ) from exc
    if not hasattr(info.factory, "load"):
        raise ArtifactError(f"plugin {manifest.plugin!r} offers no load(directory); it cannot reload models")
    versions = ""
    if info.version != manifest.plugin_version:
        versions = (f"saved by {manifest.distribution} {manifest.plugin_version}, "
                    f"installed {info.distribution} {info.version}")
        warnings.warn(f"{directory}: {versions}; scores may differ from the saved metrics", stacklevel=2)
    why = f" ({versions})" if versions else ""
    if files_fingerprint(directory) != manifest.fingerprint:
        raise ArtifactError(f"{directory}: the model files do not match the fingerprint in its {MANIFEST} "
                            f"({manifest.model_id}){why}; they were changed or swapped after saving. Restore "
                            "them, or save the model again")
    try:
        return info.factory.load(directory)
    except (OSError, ValueError, KeyError, EOFError, TypeError) as exc:
        raise ArtifactError(f"{directory}: the model files could not be read{why}: "
                            f"{type(exc).__name__}: {exc}") from exc
