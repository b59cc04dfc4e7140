"""`moderation score`: one text or a whole file, the default model, and every kind of bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from moderation.artifacts import ArtifactError, read_manifest
from tests.conftest import invoke_cli, run_cli


def test_a_missing_default_model_is_a_clear_error(tmp_path, monkeypatch):
    import moderation.defaults as defaults

    monkeypatch.setattr(defaults, "SHIPPED_MODEL", tmp_path / "gone")
    with pytest.raises(ArtifactError, match="default model is missing from this installation"):
        defaults.ensure_default_model()


def test_json_output_has_score_decision_model(default_model):
    result = run_cli("score", "--json", "--model", str(default_model), "shut up you stupid moron")
    out = json.loads(result.stdout)
    assert 0.0 <= out["score"] <= 1.0 and out["decision"] in ("allow", "review", "block")
    assert out["model"] == read_manifest(default_model).model_id
    assert out["latency_ms"] > 0


def test_thresholds_decide(default_model):
    text = "shut up you stupid moron"
    score = json.loads(invoke_cli("score", "--json", text).stdout)["score"]
    allow = json.loads(invoke_cli("score", "--json", "--review-threshold", str(min(score + 0.01, 1.0)),
                                  "--block-threshold", "1.0", text).stdout)
    block = json.loads(invoke_cli("score", "--json", "--review-threshold", "0.0",
                                  "--block-threshold", str(max(score - 0.001, 0.0)), text).stdout)
    assert (allow["decision"], block["decision"]) == ("allow", "block")
    text_out = invoke_cli("score", text)
    assert text_out.stdout.startswith(json.loads(invoke_cli("score", "--json", text).stdout)["decision"])


def test_toxic_scores_above_clean(default_model):
    def score(text: str) -> float:
        return json.loads(invoke_cli("score", "--json", text).stdout)["score"]

    assert score("fuck you, you worthless piece of shit") > score("thank you for the thoughtful edit") + 0.3


def test_reads_text_from_stdin(default_model):
    result = run_cli("score", "--json", "-", input="you idiot\n")
    assert result.returncode == 0 and "score" in json.loads(result.stdout)


@pytest.mark.parametrize(("args", "message"), [
    (["   "], "text is empty"),
    (["x" * 100_001], "over the limit"),
    (["--review-threshold", "0.9", "--block-threshold", "0.5", "hi"], "thresholds must satisfy"),
    (["--model", "/nonexistent/model", "hi"], "does not exist"),
    (["--input", "/nonexistent.csv", "--out", "x.csv"], "does not exist"),
])
def test_bad_input_is_one_clear_line(default_model, args, message):
    result = invoke_cli("score", *args)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_needs_text_or_input(default_model):
    assert invoke_cli("score").returncode == 2
    assert "--input needs --out" in invoke_cli("score", "--input", "a.csv").stderr


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding, errors="surrogateescape"))
    return path


def test_csv_keeps_every_column_and_reports_bad_rows_by_line(default_model, tmp_path):
    source = write(tmp_path / "in.csv", (
        "id,comment,lang\n"
        "1,you are an idiot,en\n"
        '2,"a comment\nover two lines",en\n'
        "3,too,many,fields\n"
        "4,,en\n"
        "5,have a lovely day,en\n"
    ))
    out = tmp_path / "out.csv"
    result = invoke_cli("score", "--input", str(source), "--text-column", "comment", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["id"] for r in rows] == ["1", "2", "5"]
    assert list(rows[0]) == ["id", "comment", "lang", "score", "decision"]
    assert rows[1]["comment"] == "a comment\nover two lines"
    assert all(0 <= float(r["score"]) <= 1 and r["decision"] in ("allow", "review", "block") for r in rows)
    assert "line 5: expected 3 fields, found 4" in result.stderr
    assert "line 6: text is empty" in result.stderr
    rejects = list(csv.DictReader(Path(str(out) + ".rejected.csv").read_text().splitlines()))
    assert [(r["line"], r["raw"]) for r in rejects] == [("5", "3,too,many,fields"), ("6", "4,,en")]


def test_csv_with_wrong_encoding_loses_nothing(default_model, tmp_path):
    source = write(tmp_path / "latin.csv", "text\ncaf\xe9 au lait you idiot\nplain ascii\n", encoding="latin-1")
    out = tmp_path / "out.csv"
    result = invoke_cli("score", "--json", "--input", str(source), "--out", str(out))
    report = json.loads(result.stdout)
    assert report["scored"] == 1 and report["rejected"][0]["line"] == 2
    assert "--encoding" in report["rejected"][0]["reason"]
    raw = Path(report["rejects_file"]).read_bytes()
    assert b"caf\xe9 au lait" in raw  # the original bytes are kept, not mangled
    fixed = invoke_cli("score", "--json", "--encoding", "latin-1", "--input", str(source), "--out", str(out))
    assert json.loads(fixed.stdout)["scored"] == 2
    assert "café au lait" in out.read_text(encoding="utf-8")


def test_csv_header_problems(default_model, tmp_path):
    missing = invoke_cli("score", "--input", str(write(tmp_path / "a.csv", "body\nhello\n")),
                         "--out", str(tmp_path / "o.csv"))
    assert missing.returncode == 1 and "no column 'text' (columns: body)" in missing.stderr
    taken = invoke_cli("score", "--input", str(write(tmp_path / "b.csv", "text,score\nhello,1\n")),
                       "--out", str(tmp_path / "o.csv"))
    assert taken.returncode == 1 and "already has column(s) score" in taken.stderr
    empty = invoke_cli("score", "--input", str(write(tmp_path / "c.csv", "")), "--out", str(tmp_path / "o.csv"))
    assert empty.returncode == 1 and "is empty" in empty.stderr
    converted = invoke_cli("score", "--input", str(write(tmp_path / "d.csv", "text\nhi\n")),
                           "--out", str(tmp_path / "o.jsonl"))  # CSV in, JSONL out: formats convert
    assert converted.returncode == 0 and json.loads((tmp_path / "o.jsonl").read_text())["text"] == "hi"
    gzipped = invoke_cli("score", "--input", str(tmp_path / "d.csv"), "--out", str(tmp_path / "o.csv.gz"))
    assert gzipped.returncode == 1 and "written uncompressed" in gzipped.stderr


def test_jsonl_scores_objects_and_reports_bad_lines(default_model, tmp_path):
    source = write(tmp_path / "in.jsonl", "\n".join([
        json.dumps({"text": "you moron", "user": {"id": 7}}),
        "{broken json",
        json.dumps(["not", "an", "object"]),
        json.dumps({"body": "no text field"}),
        json.dumps({"text": 42}),
        json.dumps({"text": "nice work, thanks"}),
    ]) + "\n")
    out = tmp_path / "out.jsonl"
    result = invoke_cli("score", "--json", "--input", str(source), "--out", str(out))
    report = json.loads(result.stdout)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in rows] == ["you moron", "nice work, thanks"]
    assert rows[0]["user"] == {"id": 7} and set(rows[0]) == {"text", "user", "score", "decision"}
    assert [(r["line"], r["reason"].split(":")[0]) for r in report["rejected"]] == [
        (2, "invalid JSON"), (3, "line is not a JSON object"), (4, "no 'text' field (use --text-column)"),
        (5, "text must be a string, got int")]


def test_jsonl_lines_with_lone_surrogates_are_rejected_by_line_and_the_output_is_utf8(default_model, tmp_path):
    source = write(tmp_path / "in.jsonl", '{"text": "you idiot \\ud800"}\n{"text": "bad \\udcff"}\n'
                                          '{"text": "thanks a lot"}\n'  # and in other fields' names or values:
                                          '{"\\ud800": null, "text": "0"}\n{"text": "0", "note": ["\\udc00"]}\n')
    out = tmp_path / "out.jsonl"
    result = invoke_cli("score", "--json", "--input", str(source), "--out", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(r["line"], "lone surrogate" in r["reason"]) for r in report["rejected"]] == [
        (1, True), (2, True), (4, True), (5, True)]
    assert [json.loads(line)["text"] for line in out.read_bytes().decode("utf-8").splitlines()] == ["thanks a lot"]
    (tmp_path / "out.jsonl.rejected.csv").read_bytes().decode("utf-8")


@pytest.mark.parametrize(("name", "args", "message"), [
    ("in.csv.gz", ["--out", "{tmp}/out.csv"], "is not gzip-compressed"),
    ("in.csv", ["--out", "/nonexistent/dir/x.csv"], "the folder /nonexistent/dir does not exist"),
    ("in.csv", ["--out", "{tmp}/out.csv", "--encoding", "nope"], "--encoding 'nope' is not an encoding"),
])
def test_bad_files_and_options_are_one_clear_line(default_model, tmp_path, name, args, message):
    source = write(tmp_path / name, "text\nhello\n")
    result = invoke_cli("score", "--input", str(source), *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_a_thousand_rows_in_small_batches_keep_their_order(default_model, tmp_path):
    source = tmp_path / "big.csv"
    with source.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["n", "text"])
        writer.writerows([i, f"comment number {i} you idiot" if i % 2 else f"comment {i} is fine"]
                         for i in range(1000))
    out = tmp_path / "big_out.csv"
    result = invoke_cli("score", "--json", "--batch-size", "64", "--input", str(source), "--out", str(out))
    assert json.loads(result.stdout)["scored"] == 1000
    assert [int(r["n"]) for r in csv.DictReader(out.open())] == list(range(1000))


def test_pipes_and_format_conversion(default_model, tmp_path):
    piped = run_cli("score", "--input", "-", "--out", "-", "--format", "jsonl", "--json",
                    input="id,text\n1,you are an idiot\n2,have a nice day\n3,\n")
    assert piped.returncode == 0, piped.stderr
    rows = [json.loads(line) for line in piped.stdout.splitlines()]  # stdout holds the rows alone
    assert [(r["id"], r["text"]) for r in rows] == [("1", "you are an idiot"), ("2", "have a nice day")]
    assert [r["decision"] for r in rows] == ["block", "allow"]
    assert "line,reason,raw" in piped.stderr and "text is empty" in piped.stderr  # the rejected row, whole
    summary = json.loads(piped.stderr.strip().splitlines()[-1])
    assert summary["decisions"] == {"allow": 1, "review": 0, "block": 1} and summary["scored"] == 2

    out = tmp_path / "out.csv"
    converted = run_cli("score", "--input", "-", "--out", str(out),
                        input='{"text": "hello", "meta": {"a": 1}}\n{"text": "you moron"}\n{"text": "x", "new": 2}\n')
    assert converted.returncode == 0, converted.stderr
    assert "(1 allow, 0 review, 1 block)" in converted.stdout
    with out.open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [(r["text"], r["meta"]) for r in table] == [("hello", '{"a": 1}'), ("you moron", "")]
    assert "has field(s) new that the first row lacks" in (tmp_path / "out.csv.rejected.csv").read_text()


def test_score_dash_scores_one_text_per_line(default_model):
    result = invoke_cli("score", "--json", "-", input="you idiot\n\nthanks a lot\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["decision"] for r in rows] == ["block", "allow"]
