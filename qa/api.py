"""The HTTP API: the same pipeline as the chat and the CLI, for programs and for serving a team.

    python -m qa serve [--host 127.0.0.1] [--port 8000] [--workers N]

- `POST /ask` `{"question": ..., "history": [...]}` -> the record `ask --json` prints. `history` holds
  the earlier turns, oldest first, each the `turn` a previous answer carried (`{"question", "answer"}`)
  or just an earlier question.
- `GET /articles` (`?limit=&offset=`), `POST /articles` (multipart files, the checks of `qa add
  --strict`: all are added or none), `DELETE /articles/{id}`, `GET /healthz`; OpenAPI at `/openapi.json`.

Writes need `Authorization: Bearer <QA_ADMIN_TOKEN>`: without the setting they are refused (403), with
a missing or wrong token too (401). Several workers share one collection: the local folder (SQLite lets
processes take turns) or, across machines, a PostgreSQL store (`QA_STORE`). Each worker loads the
models once and answers from the collection's last commit.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, File, Header, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qa.answering.conversation import Turn
from qa.answering.pipeline import EmptyQuestion, Pipeline
from qa.answering.records import response_record
from qa.ingest.formats import MAX_ARTICLE_BYTES
from qa.settings import Settings, load_settings
from qa.store.base import StoreReadOnly, StoreUnusable

log = logging.getLogger(__name__)

MAX_ASK_BYTES = 64_000  # a question and its history
MAX_UPLOAD_BYTES = 20 * MAX_ARTICLE_BYTES  # one request's files


class PastTurn(BaseModel):
    question: str = Field(max_length=2000)
    answer: str = Field(default="", max_length=2000)


class AskRequest(BaseModel):
    question: str = Field(max_length=2000)
    history: list[PastTurn | Annotated[str, Field(max_length=2000)]] = Field(default_factory=list, max_length=50)
    top_k: int | None = Field(default=None, ge=1, le=20)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    state: dict = {}

    def pipeline() -> Pipeline:
        if "pipeline" not in state:  # loaded by the worker itself, after the fork
            state["pipeline"] = Pipeline.load(settings)
        return state["pipeline"]

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        pipeline()  # models loaded before the first request, not during it
        yield

    app = FastAPI(title="article-qa", description="Questions answered with cited spans of news articles.",
                  version="0.1.0", lifespan=lifespan)

    @app.middleware("http")
    async def bounded_bodies(request: Request, call_next):
        """A body over its endpoint's bound is refused before it is read (413)."""
        limit = MAX_UPLOAD_BYTES if request.url.path == "/articles" else MAX_ASK_BYTES
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return JSONResponse({"detail": f"the request body is over {limit:,} bytes"}, status_code=413)
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            return JSONResponse({"detail": "a Content-Length header is required"}, status_code=411)
        return await call_next(request)

    def may_write(authorization: Annotated[str | None, Header()] = None) -> None:
        token = settings.admin_token
        if not token:
            raise HTTPException(403, "changes through the API are off: the server sets QA_ADMIN_TOKEN to allow them")
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not given or not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "a write needs the header 'Authorization: Bearer <QA_ADMIN_TOKEN>'",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.post("/ask")
    def ask(body: AskRequest) -> dict:
        turns = [Turn(t) if isinstance(t, str) else Turn(t.question, t.answer) for t in body.history]
        try:
            response = pipeline().ask(body.question, top_k=body.top_k, history=turns)
        except EmptyQuestion as err:
            raise HTTPException(422, str(err)) from err
        return response_record(response)

    @app.get("/articles")
    def articles(limit: int = Query(100, ge=1, le=10_000), offset: int = Query(0, ge=0)) -> dict:
        store = pipeline().store
        store.refresh()
        entries = store.entries(limit=limit + offset)[offset:]
        return {"count": store.article_count(),
                "articles": [{"id": e.id, "title": e.title, "origin": e.origin} for e in entries]}

    @app.post("/articles", status_code=201, dependencies=[Depends(may_write)])
    def add(files: list[UploadFile] = File(...)) -> dict:
        from qa.ingest.sources import Source
        from qa.store.collection import add_articles

        sources = [Source.upload(f.filename or "upload", f.file.read()) for f in files]
        p = pipeline()
        report = _changing(lambda: add_articles(settings, sources, p.store, p.embedder, strict=True))
        body = {"added": [{"id": a.id, "title": a.title} for a, _ in report.added],
                "duplicates": [{"file": d.name, "duplicate_of": d.duplicate_of} for d in report.duplicates],
                "refused": [{"file": r.name, "reason": r.reason} for r in report.refused]}
        if report.refused:
            raise HTTPException(422, body)
        return body

    @app.delete("/articles/{article_id}", dependencies=[Depends(may_write)])
    def remove(article_id: str) -> dict:
        from qa.store.collection import remove_articles

        report = _changing(lambda: remove_articles(settings, [article_id], pipeline().store))
        if report.refused:
            raise HTTPException(404, f"no article {article_id!r} in the collection")
        return {"removed": [{"id": a.id, "title": a.title} for a in report.removed]}

    @app.get("/healthz")
    def health() -> dict:
        store = pipeline().store
        store.refresh()
        return {"status": "ok", "store": store.location, "generation": store.generation(),
                "articles": store.article_count(), "passages": store.passage_count()}

    return app


def _changing(change):
    try:
        return change()
    except StoreReadOnly as err:
        raise HTTPException(409, str(err)) from err
    except StoreUnusable as err:
        raise HTTPException(503, str(err)) from err


def serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    # uvicorn kills a worker that does not answer its supervisor's ping within this many seconds; a
    # worker reading on a busy CPU (or loading its models) can take longer than the default 5 without
    # being hung, and killing it resets the connections it holds.
    uvicorn.run("qa.api:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                timeout_worker_healthcheck=120)
