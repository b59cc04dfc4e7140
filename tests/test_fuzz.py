"""Property-based tests (hypothesis): arbitrary JSON, bytes and headers never make the API or the form fail
with a 500, the queue changes only for a 200, and every row of an arbitrary input file is either scored or
rejected with its reason."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.artifacts import load_model
from moderation.scoring import score_file
from moderation.tables import InputError
from tests.web_support import add_moderator, csrf_token, login, make_app, new_token, services

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

any_text = st.text(st.characters(exclude_categories=()), max_size=80)  # surrogates, NUL, controls included
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["text", "texts", "x"]) | any_text,
                                                                 inner, max_size=3),
    max_leaves=12,
)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@pytest.fixture(scope="module")
def app(tmp_path_factory, default_model):
    app = make_app(tmp_path_factory.mktemp("fuzz"), default_model, anonymous_per_minute=100_000)
    add_moderator(app, "mod")
    return app


@pytest.fixture(scope="module")
def token(app):
    return new_token(app, "fuzz")


def rows_stored(app) -> int:
    return sum(services(app).store.status_counts().values())


def assert_queue_changes_only_for_200(app, response, before: int) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code != 200:
        assert rows_stored(app) == before


@FUZZ
@given(body=json_values)
def test_api_never_fails_on_any_json(app, token, body):
    before = rows_stored(app)
    response = app.test_client().post("/api/v1/moderate", data=json.dumps(body), content_type="application/json",
                                      headers={"Authorization": f"Bearer {token}"})
    assert_queue_changes_only_for_200(app, response, before)


@FUZZ
@given(body=st.binary(max_size=300), content_type=st.sampled_from(["application/json", "text/plain", ""])
       | header_values, authorization=st.sampled_from(["token", ""]) | header_values)
def test_api_never_fails_on_any_bytes_and_headers(app, token, body, content_type, authorization):
    before = rows_stored(app)
    auth = f"Bearer {token}" if authorization == "token" else authorization
    response = app.test_client().post("/api/v1/moderate", data=body,
                                      headers={"Content-Type": content_type, "Authorization": auth})
    assert_queue_changes_only_for_200(app, response, before)


@FUZZ
@given(text=any_text, extra=st.dictionaries(header_values, header_values, max_size=2))
def test_form_never_fails_on_any_text(app, text, extra):
    client = app.test_client()
    login(client, "mod")
    token = csrf_token(client.get("/").text)
    before = rows_stored(app)
    fields = {**extra, "csrf_token": token, "text": text}
    # as raw bytes: lone surrogates become the invalid UTF-8 a hostile client can send
    body = urlencode({k.encode(): v.encode("utf-8", "surrogatepass") for k, v in fields.items()})
    response = client.post("/", data=body, content_type="application/x-www-form-urlencoded")
    assert_queue_changes_only_for_200(app, response, before)


@pytest.fixture(scope="module")
def scorer(default_model):
    return load_model(default_model)


def non_blank_lines(data: bytes) -> int:
    decoded = data.decode("utf-8-sig", errors="surrogateescape")
    return sum(1 for line in io.StringIO(decoded, newline="") if line.strip())


@FUZZ
@given(data=st.lists(st.binary(max_size=60) | json_values.map(lambda v: json.dumps(v).encode()), max_size=8)
       .map(b"\n".join))
def test_every_jsonl_line_is_scored_or_rejected(scorer, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("jsonl")
    (folder / "in.jsonl").write_bytes(data)
    report = score_file(scorer, folder / "in.jsonl", folder / "out.jsonl")
    out = (folder / "out.jsonl").read_bytes().decode("utf-8")  # the output is always valid UTF-8
    assert len(out.splitlines()) == report.scored
    assert report.scored + len(report.rejected) == non_blank_lines(data)


@FUZZ
@given(texts=st.lists(any_text, max_size=8), encoding=st.sampled_from(["utf-8", "latin-1"]))
def test_every_csv_row_is_scored_or_rejected(scorer, tmp_path_factory, texts, encoding):
    folder = tmp_path_factory.mktemp("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([["id", "text"], *[[i, t] for i, t in enumerate(texts)]])
    # lone surrogates become invalid UTF-8 bytes; what latin-1 cannot hold becomes "?"
    (folder / "in.csv").write_bytes(buffer.getvalue().encode(encoding, errors="surrogatepass" if encoding == "utf-8"
                                                             else "replace"))
    try:
        report = score_file(scorer, folder / "in.csv", folder / "out.csv", encoding=encoding)
    except InputError:
        assert not (folder / "out.csv").exists()  # a refused file writes nothing
        return
    scored = list(csv.DictReader(io.StringIO((folder / "out.csv").read_bytes().decode("utf-8"), newline="")))
    assert len(scored) == report.scored
    assert report.scored + len(report.rejected) == len(texts)
