"""The HTTP API (`python -m qa serve`), a real server with two workers started on a free loopback port
and stopped by its PID: answers, follow-ups, the article endpoints, the token on writes, and clear 4xx
errors for bad requests; on the local store and on PostgreSQL (a real server, conftest `postgres`)."""

from __future__ import annotations

import sys

import httpx
import pytest

from articles import CAIRO_TXT, SEED_ID
from qa.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from bench_api import serve, stop  # noqa: E402  (the benchmark's server start, with two workers here)

TOKEN = "test-token-1234"


@pytest.fixture(scope="module", params=["local", "postgresql"])
def server(request, tmp_path_factory):
    """One server per store for this module's tests (each worker loads the models: seconds)."""
    env = {"QA_INDEX_DIR": str(tmp_path_factory.mktemp("api") / "index"), "QA_ADMIN_TOKEN": TOKEN, "QA_STORE": ""}
    if request.param == "postgresql":
        import psycopg

        postgres = request.getfixturevalue("postgres")
        with psycopg.connect(postgres.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as db:
            db.execute('DROP DATABASE IF EXISTS "api" WITH (FORCE)')
            db.execute('CREATE DATABASE "api"')
        env["QA_STORE"] = postgres.url.rsplit("/", 1)[0] + "/api"
    log = tmp_path_factory.mktemp("api-log") / "server.log"
    proc, url = serve(env, 2, log)
    with httpx.Client(base_url=url, timeout=120) as client:
        yield client
    stop(proc)
    print(log.read_text()[-5000:])


def test_the_api_answers_follows_up_and_changes_articles_with_the_token(server):
    ask = server.post("/ask", json={"question": "How many missiles did Iraq say were fired?"})
    assert ask.status_code == 200
    record = ask.json()
    assert record["answers"][0]["text"] == "22" and not record["abstained"]
    assert record["answers"][0]["article_id"] == SEED_ID and record["turn"]["answer"] == "22"
    # a follow-up: the turn the first answer carried, sent back as history
    follow = server.post("/ask", json={"question": "And Iranian state television?", "history": [record["turn"]]})
    assert follow.status_code == 200 and follow.json()["answers"][0]["text"] == "15"

    listed = server.get("/articles").json()
    assert listed["count"] == 2 and SEED_ID in {a["id"] for a in listed["articles"]}
    files = {"files": ("cairo.txt", CAIRO_TXT.encode(), "text/plain")}
    assert server.post("/articles", files=files).status_code == 401  # no token
    assert server.post("/articles", files=files, headers={"Authorization": "Bearer nope"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    added = server.post("/articles", files=files, headers=auth)
    assert added.status_code == 201 and added.json()["added"] == [{"id": "cairo", "title": "Snow in Cairo"}]
    # another worker answers from the new commit too
    for _ in range(4):
        answer = server.post("/ask", json={"question": "When did it snow in Cairo?"}).json()
        assert answer["answers"][0]["article_id"] == "cairo"
    bad = server.post("/articles", files={"files": ("empty.txt", b"", "text/plain")}, headers=auth)
    assert bad.status_code == 422 and "empty" in bad.json()["detail"]["refused"][0]["reason"]
    assert server.delete("/articles/cairo").status_code == 401
    assert server.delete("/articles/nope", headers=auth).status_code == 404
    assert server.delete("/articles/cairo", headers=auth).json() == {"removed": [{"id": "cairo", "title": "Snow in Cairo"}]}
    assert server.get("/healthz").json()["articles"] == 2


def test_bad_requests_get_clear_4xx_errors(server):
    assert server.post("/ask", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 422
    assert server.post("/ask", json={"history": []}).status_code == 422  # no question
    empty = server.post("/ask", json={"question": "   "})
    assert empty.status_code == 422 and "question" in empty.json()["detail"].lower()
    huge = server.post("/ask", json={"question": "x" * 100_000})
    assert huge.status_code == 413 and "over" in huge.json()["detail"]
    assert server.get("/articles", params={"limit": 0}).status_code == 422
    paths = server.get("/openapi.json").json()["paths"]
    assert {"/ask", "/articles", "/articles/{article_id}", "/healthz"} <= set(paths)


def test_writes_are_refused_when_no_token_is_set(tmp_path):
    proc, url = serve({"QA_INDEX_DIR": str(tmp_path / "index"), "QA_ADMIN_TOKEN": "", "QA_STORE": ""}, 2,
                      tmp_path / "server.log")
    try:
        refused = httpx.delete(f"{url}/articles/{SEED_ID}", headers={"Authorization": "Bearer guess"}, timeout=60)
        assert refused.status_code == 403 and "QA_ADMIN_TOKEN" in refused.json()["detail"]
        assert httpx.get(f"{url}/articles", timeout=60).json()["count"] == 2
    finally:
        stop(proc)
