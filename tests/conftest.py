from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHARED_DATA = Path(os.environ.get("MODERATION_DATA_DIR", ROOT.parent / "shared" / "data"))
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright cannot download its own browsers here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    """Skip a browser test where Chromium is missing, or fail it where the run demands browsers
    (``MODERATION_REQUIRE_BROWSER=1``, as CI sets): a skipped browser test must not pass for a green run."""
    if CHROMIUM.is_file():
        return
    message = f"browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium"
    if os.environ.get("MODERATION_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (MODERATION_REQUIRE_BROWSER=1 forbids skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def moderation_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private data home for the whole run, so the user's own default model is never touched."""
    home = tmp_path_factory.mktemp("moderation-home")
    os.environ["MODERATION_HOME"] = str(home)
    os.environ.setdefault("MODERATION_THREADS", "1")  # tests run beside other work: no thread oversubscription
    return home


@pytest.fixture(scope="session")
def default_model(moderation_home: Path) -> Path:
    from moderation.defaults import ensure_default_model

    return ensure_default_model()


def make_distribution(site: Path, name: str, version: str, entry_points: dict[str, str],
                      modules: dict[str, str]) -> Path:
    """Write an installed-looking distribution (real ``.dist-info`` metadata) into ``site``."""
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "\n".join(f"{ep} = {target}" for ep, target in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[moderation]\n{lines}\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    return site


def run_cli(*args: str, env_extra: dict[str, str] | None = None, input: str | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``moderation`` console script in a fresh process."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([str(BIN / "moderation"), *args], capture_output=True, text=True, env=env,
                          input=input, cwd=cwd, timeout=300)


def pip_install_target(package: Path, target: Path) -> None:
    """Install a package's built form into ``target`` (no deps, no network) as pip would for a user."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(package)], check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets in ../shared/data (or $MODERATION_DATA_DIR); tests that need them skip without."""
    if not (SHARED_DATA / "davidson" / "labeled_data.csv").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA}; set MODERATION_DATA_DIR to the shared data folder")
    return SHARED_DATA


def make_tiny_encoder(directory: Path, seed: int = 0) -> Path:
    """A tiny random BERT (2 layers, width 32) with the real MiniLM tokenizer: a classifier-compatible
    base checkpoint that trains in seconds, built offline from a config."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    from moderation.encoders import default_encoder_path

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(directory)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(default_encoder_path() / name, directory / name)
    return directory


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))
