"""The command line itself: lazy verbs, fast help and completion, -h."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time

import pytest

from moderation.cli import VERBS
from tests.conftest import BIN, invoke_cli, run_cli

HEAVY = ("pandas", "scipy", "sklearn", "skops", "torch", "transformers")


# Every command imports every plugin to register it: a plugin importing scikit-learn or skops at its top
# made each command seconds slower to start (skops.io alone took 5 s, and pulled in torch).
@pytest.mark.parametrize("step", ["try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n",
                                  "from moderation.plugins import get_registry; get_registry().names('student')\n"],
                         ids=["help", "registering every plugin"])
def test_help_and_plugin_registration_import_no_heavy_library(step):
    code = ("import sys; from moderation.cli import main\n" + step +
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_help_and_completion_answer_fast():
    env = {**os.environ, "COMP_WORDS": "moderation sc", "COMP_CWORD": "1", "_MODERATION_COMPLETE": "bash_complete"}
    for args, extra in ((["--help"], {}), (["-h"], {}), ([], env)):
        start = time.perf_counter()
        result = subprocess.run([str(BIN / "moderation"), *args], capture_output=True, text=True,
                                env=extra or None, timeout=60)
        elapsed = time.perf_counter() - start
        assert result.returncode == 0, result.stderr
        assert elapsed < 1.5, f"{args or 'completion'} took {elapsed:.2f}s"  # ~0.15 s on a quiet machine
    assert "plain,score" in result.stdout


def test_the_verb_summaries_match_the_commands():
    for name, summary in VERBS.items():
        command = importlib.import_module(f"moderation.commands.{name}").command
        assert command.get_short_help_str(limit=1000) == summary, name


def test_every_visible_option_of_every_command_has_help_text():
    import click

    from moderation.cli import main

    def silent(command: click.Command, path: str) -> list[str]:
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            return [m for name in command.list_commands(ctx)
                    for m in silent(command.get_command(ctx, name), f"{path} {name}")]
        return [f"{path} {p.opts[0]}" for p in command.params
                if isinstance(p, click.Option) and not p.hidden and not p.help]

    assert silent(main, "moderation") == []


def test_h_works_on_every_verb():
    result = run_cli("score", "-h")
    assert result.returncode == 0 and "--input" in result.stdout
    assert run_cli("nosuchverb").returncode == 2


def test_models_list_and_show(default_model, tmp_path):
    import shutil

    shutil.copytree(default_model, tmp_path / "a" / "copy")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    listed = json.loads(invoke_cli("models", "list", str(tmp_path), "--json").stdout)
    paths = [m["path"] for m in listed["models"]]
    assert paths == [str(default_model), str(tmp_path / "a" / "copy")]
    assert listed["models"][0]["default"] and not listed["models"][1]["default"]
    assert listed["unreadable"][0]["path"] == str(tmp_path / "broken") and "corrupt" in listed["unreadable"][0]["error"]
    shown = invoke_cli("models", "show")
    model_id = json.loads(invoke_cli("models", "show", "--json").stdout)["id"]
    assert shown.returncode == 0 and model_id in shown.stdout and "policy: review at" in shown.stdout
    assert invoke_cli("models", "show", "--card").stdout.startswith("# ")
    missing = invoke_cli("models", "show", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_user_errors_are_one_line_and_bugs_keep_their_traceback():
    import click
    import pytest

    from moderation.commands.common import friendly_errors
    from moderation.errors import InputError

    @friendly_errors
    def wrong_input():
        raise InputError("the file is empty")

    @friendly_errors
    def bug():
        raise ValueError("an internal invariant broke")

    with pytest.raises(click.ClickException, match="the file is empty"):
        wrong_input()
    with pytest.raises(ValueError, match="invariant"):  # not turned into a one-line message
        bug()


def test_unknown_plugin_parameters_and_bad_counts_are_one_line(default_model, tmp_path):
    unknown = invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data", "demo",
                         "--out", str(tmp_path / "s"), "--param", "nosuch=1")
    assert unknown.returncode == 1 and "does not take these parameters" in unknown.stderr
    assert "it takes: C, max_features" in unknown.stderr and "Traceback" not in unknown.stderr
    count = invoke_cli("distill", "--teacher", str(default_model), "--student", "tfidf-lr", "--data", "demo",
                       "--out", str(tmp_path / "s"), "--oversample", "demo=abc")
    assert count.returncode == 1 and "--oversample takes DATA=N" in count.stderr


def test_renamed_options_keep_their_old_spelling_with_a_warning(tmp_path, default_model):
    from click.testing import CliRunner

    from moderation.cli import main

    runner = CliRunner()
    args = ["evaluate", "--model", str(default_model), "--data", "demo", "--limit", "300", "--singles", "5", "--json"]
    new = runner.invoke(main, [*args, "--compare", str(default_model)])
    old = runner.invoke(main, [*args, "--teacher", str(default_model)])
    assert new.exit_code == old.exit_code == 0, old.output
    assert "Warning: --teacher is now --compare" in old.stderr and "Warning" not in new.stderr
    strip = ("latency", "throughput")  # timings differ run to run; the measured agreement may not
    same = [{k: v for k, v in json.loads(r.stdout).items() if not any(s in k for s in strip)} for r in (new, old)]
    assert same[0] == same[1] and same[0]["decision_agreement"] == 1.0  # the model beside itself
    unknown = runner.invoke(main, [*args, "--teachr", str(default_model)])
    assert unknown.exit_code == 2 and "No such option '--teachr'" in unknown.stderr


def test_evaluate_chooses_a_policy_on_the_rows_it_is_given(default_model):
    args = ["evaluate", "--data", "demo", "--split", "validation", "--singles", "5"]
    assert "policy" not in json.loads(invoke_cli(*args, "--json").stdout)
    chosen = json.loads(invoke_cli(*args, "--choose-policy", "--block-precision", "0.9", "--json").stdout)
    policy = chosen["policy"]
    assert policy["rule"] == "review: recall >= 0.90; block: precision >= 0.90"
    assert 0 <= policy["review"] <= policy["block"] <= 1 and policy["review_recall"] >= 0.9
    text = invoke_cli(*args, "--choose-policy", "--block-precision", "0.9").stdout
    assert f"--review-threshold {policy['review']} --block-threshold {policy['block']}" in text


def test_warnings_are_one_line_and_quiet_silences_them(tmp_path, default_model):
    import shutil

    model = tmp_path / "old"
    shutil.copytree(default_model, model)
    manifest = json.loads((model / "manifest.json").read_text())
    (model / "manifest.json").write_text(json.dumps({**manifest, "plugin_version": "0.0.1"}))
    plain = run_cli("score", "--model", str(model), "you are a lovely person")
    assert plain.returncode == 0, plain.stderr
    warning = [line for line in plain.stderr.splitlines() if "0.0.1" in line]
    assert len(warning) == 1 and warning[0].startswith("Warning: ") and "scores may differ" in warning[0]
    assert "UserWarning" not in plain.stderr and "warnings.warn" not in plain.stderr
    quiet = run_cli("-q", "score", "--model", str(model), "you are a lovely person")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == plain.stdout
    verbose = run_cli("-v", "score", "--model", str(model), "you are a lovely person")
    assert "UserWarning" in verbose.stderr  # -v keeps Python's full warning, with where it came from


def test_a_command_run_in_process_leaves_warnings_logging_and_environment_as_it_found_them(monkeypatch):
    import logging
    import warnings

    from click.testing import CliRunner

    from moderation.cli import main

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    CliRunner().invoke(main, ["plugins"])  # imports first: libraries add their own warning filters once
    root = logging.getLogger()
    before = (warnings.showwarning, list(warnings.filters), list(root.handlers), root.level)
    for flags in (["-q"], [], ["-vv"]):
        result = CliRunner().invoke(main, [*flags, "plugins"])
        assert result.exit_code == 0, result.output
        assert (warnings.showwarning, list(warnings.filters), list(root.handlers), root.level) == before, flags
        assert "TQDM_DISABLE" not in os.environ
