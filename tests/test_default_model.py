"""The default model that ships in the package: present, small, loaded without training, and moderating
the comments the project promises it handles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moderation.artifacts import load_model, read_manifest
from moderation.data import make_record
from moderation.defaults import SHIPPED_MODEL, ensure_default_model
from moderation.evaluation import size_bytes
from moderation.model_card import long_text_scope
from moderation.policy import recommended
from tests.conftest import ROOT, invoke_cli, load_script

PROMISES = [("you are a lovely person", "allow"), ("I am a proud gay man and I love my husband", "allow"),
            ("I hate all muslims, they should be killed", "block")]


def test_the_default_ships_with_the_package_and_is_small():
    assert ensure_default_model() == SHIPPED_MODEL
    manifest = read_manifest(SHIPPED_MODEL)
    assert manifest.kind == "student" and size_bytes(SHIPPED_MODEL) <= 10 * 1024 * 1024
    assert 0 < manifest.policy["review"] <= manifest.policy["block"] <= 1
    assert manifest.lineage["split_plan"] and manifest.lineage["lexicon"] and manifest.lineage["teacher_data"]
    assert "tools/build_default_model.py" in manifest.lineage["build"]["command"]


def test_the_shipped_policy_leaves_a_review_band_for_humans():
    policy = read_manifest(SHIPPED_MODEL).policy
    assert policy["rule"] == "review: recall >= 0.90; block: precision >= 0.99"
    assert policy["block_precision"] >= 0.99 and 0.05 <= policy["review_share"] <= 0.5, policy


@pytest.mark.parametrize(("text", "decision"), PROMISES)
def test_the_default_moderates_what_it_promises(text, decision):
    manifest = read_manifest(SHIPPED_MODEL)
    score = float(load_model(SHIPPED_MODEL).score([text])[0])
    assert recommended(manifest.policy).decide(score) == decision, score


def test_score_uses_the_models_recommended_policy_unless_overridden():
    manifest = read_manifest(SHIPPED_MODEL)
    result = json.loads(invoke_cli("score", "--json", PROMISES[2][0]).stdout)
    assert result["thresholds"] == {"review": manifest.policy["review"], "block": manifest.policy["block"]}
    assert result["decision"] == "block"
    forced = json.loads(invoke_cli("score", "--json", "--review-threshold", "0", "--block-threshold", "1",
                                   PROMISES[0][0]).stdout)
    assert forced["decision"] == "review" and forced["thresholds"] == {"review": 0.0, "block": 1.0}


def test_the_card_says_how_a_long_comment_is_read():
    assert "only the first 64 tokens" in long_text_scope({"max_length": 64})
    windows = long_text_scope({"max_length": 64, "long_text": "window-mean"})
    assert "overlapping windows, window-mean" in windows and "seldom flagged" in windows
    assert "still misses some" in long_text_scope({"max_length": 64, "long_text": "window-mean"}, bury=0.2)


def build_script():
    return load_script(ROOT / "tools" / "build_default_model.py")


def test_the_build_chooses_a_seed_by_quality_and_behaviour_alike():
    build = build_script()
    rows = [make_record(f"{name}{i}", "x", i % 2, source=name) for name in build.CHOSEN_ON[:-1] for i in range(4)]
    rows += [make_record("t", "x", 1, source="behaviour", group="behaviour/threat/0"),
             make_record("n", "x", 0, source="behaviour", group="behaviour/negated_attack/0")]
    ranked = np.array([0.1, 0.9] * 6 + [0.9, 0.6])  # every data set ranked right; the negated attack flagged at 0.5
    figures = build.composite(rows, ranked, review=0.5)
    assert figures["mean_auc"] == 1.0 and figures["mean_category_pass"] == 0.5 and figures["composite"] == 0.75
    assert build.composite(rows, ranked, review=0.7)["composite"] == 1.0


def test_transfer_only_data_reaches_the_students_alone():
    build = build_script()
    assert build.student_data(build.student_recipe("", 0.0)) == build.TRAINING_DATA
    assert build.student_data(build.student_recipe("phrasings", 0.0)) == build.TRAINING_DATA + ",phrasings"


def test_the_card_says_how_the_students_learnt_a_routed_data_set():
    from moderation.model_card import _transfer_only

    build = {"student": {"transfer_only": "framed-claims", "alpha_for": {"framed-claims": 1.0},
                         "weight_for": {"framed-claims": 0.5}, "bury_for": {"framed-claims": 1.0}},
             "teachers_routed": {"framed-claims": "minilm-lora@x"}}
    said = _transfer_only(build)
    assert "`minilm-lora@x`" in said and "share of their targets 1;" in said and "weighing 0.5" in said
    assert "100% of its short rows also set inside a friendly comment" in said
    assert "weighing" not in _transfer_only({**build, "student": {"transfer_only": "framed-claims"}})
    assert "friendly comment" not in _transfer_only({**build, "student": {"transfer_only": "framed-claims"}})


def test_the_cards_behaviour_table_gives_the_students_templates_and_interval():
    from moderation.model_card import _behaviour

    row = {"category": "threat", "label": 1, "templates": 16, "rows": 700, "pass_rate": 0.9, "pass_low": 0.61,
           "pass_high": 0.98}
    tables = {"behaviour.categories": [{**row, "model": "student"},
                                       {**row, "model": "teacher", "pass_rate": 0.97, "pass_low": None}]}
    table = _behaviour(tables, ["student", "teacher"])
    assert "| threat | flag | 16 | 700 | 0.900 | 0.61-0.98 | 0.970 |" in table
    old_report = {"behaviour.categories": [{k: v for k, v in {**row, "model": "student"}.items() if k != "templates"}]}
    assert "| threat | flag | n/a | 700 | 0.900 | 0.61-0.98 | n/a |" in _behaviour(old_report, ["student", "teacher"])


def test_the_builds_default_recipe_is_the_shipped_models():
    build = build_script()
    recipe = build.student_recipe(build.TRANSFER_ONLY, build.BURY_UNLABELED)
    assert recipe == read_manifest(SHIPPED_MODEL).lineage["build"]["student"]
    assert build.student_recipe("", 0.0) == build.STUDENT  # the previous default's recipe: no key added


def test_student_params_replace_the_recipes_and_keep_the_rest():
    build = build_script()
    params = build.student_recipe("", 0.0, params=build.student_params(("max_steps=13500", "dim=192")))["params"]
    assert params == {**build.STUDENT["params"], "max_steps": 13500, "dim": 192}
    assert build.STUDENT["params"]["max_steps"] == 9000  # the recipe itself is not changed


@pytest.mark.parametrize(("argv", "said"), [(["--seeds", "2", "--seed", "2"], "--seed between 0 and --seeds - 1"),
                                            (["--seeds", "0"], "--seeds must be at least 1"),
                                            (["--teacher-steps", "3000,0"], "positive step counts"),
                                            (["--routed-teacher", "davidson"], "data sets of --transfer-only"),
                                            (["--transfer-only", "", "--routed-teacher", "phrasings"],
                                             "data sets of --transfer-only"),
                                            (["--alpha-for", "framed-claims=all"], "--alpha-for takes DATA=A"),
                                            (["--weight-for", "framed-claims"], "--weight-for takes DATA=W"),
                                            (["--bury-for", "framed-claims=1.5"], "--bury-for takes DATA=SHARE"),
                                            (["--bury-for", "framed-claims=1"], "which the students do not read"),
                                            (["--teacher-oversample", "stormfront=1.5"], "--oversample takes"),
                                            (["--student-param", "max_steps"], "--student-param takes KEY=VALUE"),
                                            (["--student-param", "depth=3"], "does not take these parameters")])
def test_the_build_refuses_settings_it_would_not_train(monkeypatch, capsys, tmp_path, argv, said):
    build = build_script()
    monkeypatch.setattr("sys.argv", ["build_default_model.py", "--data-dir", str(tmp_path), "--work", str(tmp_path),
                                     *argv])
    with pytest.raises(SystemExit):
        build.main()
    assert said in capsys.readouterr().err


def test_the_build_reads_one_teacher_per_step_count():
    build = build_script()
    assert build.teacher_steps("3000,1500") == [3000, 1500] and build.teacher_steps(" 1500 ") == [1500]
    assert build.teacher_steps("3000,x") == [] and build.teacher_steps("") == [] and build.teacher_steps("-5") == []
