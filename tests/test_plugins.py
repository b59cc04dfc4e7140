"""The plugin host: entry points, listing, failures, conflicts, and out-of-tree plugins."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from moderation.plugins import HOOKS, PluginError, build_registry, entry_points, get_registry
from tests.conftest import ROOT, make_distribution, pip_install_target, run_cli

GOOD = """
from moderation import hookimpl

class Echo:
    '''Scores by text length (test plugin).'''
    name = "echo"
    def score(self, texts):
        return [min(len(t) / 100, 1.0) for t in texts]

@hookimpl
def register_students(register):
    register(Echo)
"""


def test_builtins_come_through_the_entry_point_group():
    registry = get_registry()
    student = registry.get("student", "tfidf-lr")
    dataset = registry.get("dataset", "demo")
    assert (student.distribution, dataset.distribution) == ("moderation", "moderation")
    assert {ep.name for ep in entry_points() if ep.dist.name == "moderation"} >= {"tfidf_lr", "demo"}
    assert student.description.startswith("Word and character n-gram")


def test_plugins_json_lists_kind_name_distribution():
    result = run_cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {"kind": "student", "name": "tfidf-lr", "distribution": "moderation"}.items() <= next(
        r for r in rows if r["name"] == "tfidf-lr").items()
    assert all(r["kind"] in set(HOOKS) for r in rows)


def test_plugins_table_has_the_columns():
    result = run_cli("plugins")
    header = result.stdout.splitlines()[0].split()
    assert header == ["kind", "name", "description", "distribution", "version"]
    assert any(line.split()[:2] == ["student", "tfidf-lr"] for line in result.stdout.splitlines())


@pytest.fixture
def broken_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    make_distribution(site, "broken-import", "1.0", {"boom": "boom_plugin"},
                      {"boom_plugin": "raise RuntimeError('cannot import me')\n"})
    make_distribution(site, "broken-hook", "2.0", {"bad_hook": "bad_hook_plugin"}, {"bad_hook_plugin": """
        from moderation import hookimpl

        @hookimpl
        def register_students(register):
            raise ValueError("registration exploded")
        """})
    make_distribution(site, "misspelt", "0.1", {"typo": "typo_plugin"}, {"typo_plugin": """
        from moderation import hookimpl

        @hookimpl
        def register_studnets(register):
            pass
        """})
    make_distribution(site, "good-plugin", "3.1", {"echo": "echo_plugin"}, {"echo_plugin": GOOD})
    return site


def test_broken_plugins_are_listed_with_their_errors(broken_site, monkeypatch):
    monkeypatch.syspath_prepend(str(broken_site))
    registry = build_registry(entry_points())
    errors = {f.distribution: f.error for f in registry.failures}
    assert "RuntimeError: cannot import me" in errors["broken-import"]
    assert "registration exploded" in errors["broken-hook"]
    assert "register_studnets" in errors["misspelt"]
    assert registry.get("student", "echo").distribution == "good-plugin"
    assert registry.get("student", "tfidf-lr").distribution == "moderation"


def test_broken_plugin_never_takes_the_cli_down(broken_site, default_model):
    env = {"PYTHONPATH": str(broken_site)}
    listing = run_cli("plugins", env_extra=env)
    assert listing.returncode == 0, listing.stderr
    assert "3 plugin(s) failed" in listing.stdout and "cannot import me" in listing.stdout
    scored = run_cli("score", "--json", "have a nice day", env_extra=env)
    assert scored.returncode == 0, scored.stderr
    assert 0.0 <= json.loads(scored.stdout)["score"] <= 1.0


def test_same_kind_and_name_from_two_distributions_is_a_clear_error(tmp_path, monkeypatch):
    site = tmp_path / "site"
    make_distribution(site, "first-dist", "1.0", {"echo": "echo_a"}, {"echo_a": GOOD})
    make_distribution(site, "second-dist", "2.0", {"echo": "echo_b"}, {"echo_b": GOOD})
    monkeypatch.syspath_prepend(str(site))
    registry = build_registry(entry_points())
    with pytest.raises(PluginError) as info:
        registry.get("student", "echo")
    assert "first-dist 1.0" in str(info.value) and "second-dist 2.0" in str(info.value)
    listed = [r for r in registry.rows() if r.name == "echo"]
    assert len(listed) == 2 and all("more than one plugin" in r.error for r in listed)
    assert registry.get("student", "tfidf-lr")  # the rest still works


def test_unknown_plugin_names_what_is_installed():
    with pytest.raises(PluginError, match="no student plugin named 'nope'.*tfidf-lr"):
        get_registry().get("student", "nope")


def test_out_of_tree_plugin_installs_lists_and_scores(tmp_path, default_model):
    target = tmp_path / "site"
    pip_install_target(ROOT / "examples" / "moderation-hashing-sgd", target)
    env = {"PYTHONPATH": str(target)}
    rows = json.loads(run_cli("plugins", "--json", env_extra=env).stdout)
    row = next(r for r in rows if r["name"] == "hashing-sgd")
    assert (row["kind"], row["distribution"], row["version"]) == ("student", "moderation-hashing-sgd", "0.2.0")
    out = tmp_path / "model"
    train = f"""
from pathlib import Path
from moderation.data import load
from moderation.student_training import train_student
data = load("demo")
m = train_student("hashing-sgd", data.split("train", "train"), data.split("test"), Path({str(out)!r}))
print(m.metrics["test_roc_auc"])
"""
    trained = subprocess.run([sys.executable, "-c", train], capture_output=True, text=True,
                             env={**__import__("os").environ, **env}, timeout=300)
    assert trained.returncode == 0, trained.stderr
    assert float(trained.stdout) > 0.75  # it learned something real from the demo data
    scored = run_cli("score", "--json", "--model", str(out), "you are a moron", env_extra=env)
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["model"].startswith("hashing-sgd@")


def _child_venv(folder: Path) -> Path:
    """A virtual environment that sees this one's packages (moderation, pytest, pip, setuptools) and
    installs into its own site-packages, as a user's environment with moderation installed would."""
    import venv

    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "parent.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    for script, module, function in (("moderation", "moderation.cli", "main"), ("pytest", "pytest", "main"),
                                     ("pip", "pip._internal.cli.main", "main")):
        launcher = folder / "bin" / script
        launcher.write_text(f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n")
        launcher.chmod(0o755)
    return folder / "bin"


def test_the_plugin_tutorial_runs_as_written(tmp_path):
    """docs/plugins.md's first commands, line by line as a stranger would type them: scaffold, install,
    list, test, build the wheel to publish."""
    doc = (ROOT / "docs" / "plugins.md").read_text()
    script = re.search(r"```bash\n(.*?)```", doc, re.S).group(1)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{_child_venv(tmp_path / 'venv')}:{os.environ['PATH']}",
           # offline: build with the packages at hand
           "PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    ran = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, env=env, cwd=home, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    package = home / "src" / "moderation-keyword-student"
    made = [p for p in package.rglob("*") if p.is_file() and not any(  # what pip and pytest left aside
        part.startswith(".") or part.endswith(".egg-info") or part == "__pycache__"
        for part in p.relative_to(package).parts)]
    assert {p.name for p in made} == {
        "pyproject.toml", "moderation_keyword_student.py", "test_moderation_keyword_student.py", "README.md"}
    assert re.search(r"^student\s+keyword-student\s.*moderation-keyword-student\s+0\.1\.0$", ran.stdout, re.M)
    assert "2 passed" in ran.stdout  # the package's own tests: the conformance kit and the entry point
    assert [w.name for w in (home / "dist").iterdir()] == ["moderation_keyword_student-0.1.0-py3-none-any.whl"]
    assert "class KeywordStudent:" in (package / "moderation_keyword_student.py").read_text()
    listed = json.loads(run_cli("plugins", "--json").stdout)  # this environment is left as it was
    assert not any(r["name"] == "keyword-student" for r in listed)


def test_scaffolded_class_names_never_repeat_the_kind():
    from moderation.scaffold import class_name

    assert class_name("keyword-student", "student") == class_name("keyword", "student") == "KeywordStudent"
    assert class_name("student-of-words", "student") == "StudentOfWordsStudent"
    assert class_name("overlap", "prompt_strategy") == class_name("overlap-strategy", "prompt_strategy") \
        == "OverlapStrategy"
    assert class_name("forum-dataset", "dataset") == "ForumDataset"


def test_plugins_new_scaffolds_every_kind_and_each_passes_its_own_tests(tmp_path):
    from moderation.scaffold import KINDS

    names = {"teacher": "wordlist-teacher", "dataset": "forum-dataset", "audit": "clean-pass-audit",
             "prompt_strategy": "overlap-strategy"}
    assert set(names) | {"student"} == set(KINDS)
    packages = []
    for kind, name in names.items():
        made = run_cli("plugins", "new", name, "--kind", kind, "--dir", str(tmp_path))
        assert made.returncode == 0, made.stderr
        packages.append(tmp_path / f"moderation-{name}")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), *map(str, packages)], check=True, capture_output=True, timeout=300)
    env = {"PYTHONPATH": str(target)}
    rows = json.loads(run_cli("plugins", "--json", env_extra=env).stdout)
    listed = {(r["kind"], r["name"]) for r in rows if r["error"] is None}
    assert set(names.items()) <= listed
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header",
                            "-o", "addopts=", *[str(p / "tests") for p in packages]], capture_output=True,
                           text=True, env={**__import__("os").environ, **env}, cwd=tmp_path, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "12 passed" in tests.stdout  # three tests per kind
    assert "class OverlapStrategy:" in (packages[3] / "moderation_overlap_strategy.py").read_text()
    shown = run_cli("prompt", "show", "--strategy", "overlap-strategy", "--k", "3", "you are an idiot", "--json",
                    env_extra=env)
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)["exemplars"]) == 3


def test_plugins_new_refuses_bad_names_and_existing_folders(tmp_path):
    bad = run_cli("plugins", "new", "Bad Name", "--dir", str(tmp_path))
    assert bad.returncode == 1 and "lower-case words" in bad.stderr
    assert run_cli("plugins", "new", "twice", "--dir", str(tmp_path)).returncode == 0
    again = run_cli("plugins", "new", "twice", "--dir", str(tmp_path))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_wheel_has_no_generic_top_level_modules(tmp_path):
    # Build from a copy: an in-tree build/ folder could carry stale modules into later wheels.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", "build", ".git", "*.egg-info",
                                                                "__pycache__", "test-artifacts", "runs"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("moderation-*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"moderation", "moderation_plugins", "moderation_web", "moderation-0.1.0.dist-info"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "moderation_plugins/data/demo.csv" in names
    from moderation.scaffold import KINDS

    assert "moderation/templates/plugin/pyproject.toml.tmpl" in names
    assert {f"moderation/templates/plugin/{kind}/module.py.tmpl" for kind in KINDS} <= set(names)
    assert {"moderation_web/templates/base.html", "moderation_web/static/style.css"} <= set(names)


def test_what_plugin_authors_are_shown_is_the_declared_public_api():
    """Every `from moderation... import` in the plugin templates, the example plugin and the docs names
    only what its module lists in `__all__`: the promise that those names stay, and the rest may change."""
    import importlib

    sources = [*(ROOT / "moderation" / "templates" / "plugin").rglob("*.tmpl"), *(ROOT / "examples").rglob("*.py"),
               *(ROOT / "docs").glob("*.md"), ROOT / "README.md"]
    shown: dict[str, set[str]] = {}
    for path in sources:
        for module, names in re.findall(r"from (moderation(?:\.\w+)*) import \(?([\w, ]+)", path.read_text()):
            shown.setdefault(module, set()).update(n.strip() for n in names.split(",") if n.strip())
    assert len(shown) >= 5, shown  # the scan found the imports
    for module, names in shown.items():
        public = set(getattr(importlib.import_module(module), "__all__", ()))
        assert names <= public, f"{module} shows {sorted(names - public)} to plugin authors but not in __all__"


def test_source_digest_follows_the_plugins_own_module():
    import hashlib

    from moderation.plugins import source_digest

    module = ROOT / "plugins" / "tfidf_lr.py"
    assert source_digest("student", "tfidf-lr") == hashlib.sha256(module.read_bytes()).hexdigest()[:12]
    assert source_digest("student", "tfidf-lr") != source_digest("student", "ngram-mlp")
