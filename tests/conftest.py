from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHARED_DATA = Path(os.environ.get("MODERATION_DATA_DIR", ROOT.parent / "shared" / "data"))
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright cannot download its own browsers here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def load_script(path: Path) -> ModuleType:
    """A script outside the package (benchmarks/ and tools/ are not packages) as a module named for its file,
    loaded once, so that tests call its functions. It is in sys.modules before it runs: dataclasses look their
    module up there."""
    if path.stem in sys.modules:
        return sys.modules[path.stem]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def require_chromium() -> None:
    """Skip a browser test where Chromium is missing, or fail it where the run demands browsers
    (``MODERATION_REQUIRE_BROWSER=1``, as CI sets): a skipped browser test must not pass for a green run."""
    if CHROMIUM.is_file():
        return
    message = f"browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium"
    if os.environ.get("MODERATION_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (MODERATION_REQUIRE_BROWSER=1 forbids skipping)")
    pytest.skip(message)


POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")  # Debian's PostgreSQL 15


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL URL allowed to create databases: $MODERATION_TEST_POSTGRES_URL, else a throwaway
    server started for this run from Debian's PostgreSQL 15 (initdb + pg_ctl, Unix socket only, in a
    temporary folder, stopped at the end). Skips, saying why, where neither is at hand."""
    if url := os.environ.get("MODERATION_TEST_POSTGRES_URL"):
        yield url
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[postgres]' to run the store tests on PostgreSQL")
    if not (POSTGRES_BIN / "initdb").is_file():
        pytest.skip(f"no PostgreSQL at {POSTGRES_BIN} (apt-get install postgresql-15) and "
                    "MODERATION_TEST_POSTGRES_URL unset")
    folder = Path(tempfile.mkdtemp(prefix="moderation-pg-"))  # short: a socket path must fit 107 bytes
    # initdb refuses to run as root: as root, run the server as Debian's postgres user
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    run = functools.partial(subprocess.run, check=True, capture_output=True, timeout=120)
    run([*as_user, str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    run([*as_user, str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
         f"-k {folder} -c listen_addresses='' -c fsync=off -c max_connections=200", "start"])
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={folder}"
    finally:
        subprocess.run([*as_user, str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: an SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'web.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    name = f"moderation_test_{uuid.uuid4().hex[:12]}"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


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


def invoke_cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """Run a ``moderation`` command in this process, answered as ``run_cli`` answers: for tests of what a
    command does, where a fresh process would spend seconds importing torch. ``run_cli`` stays the test of
    the console script, its pipes and its start-up. An exception the command did not turn into a clear
    message is raised, so that a test sees the traceback a user would."""
    from click.testing import CliRunner

    from moderation.cli import main

    result = CliRunner().invoke(main, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["moderation", *args], result.exit_code, result.stdout, result.stderr)


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
