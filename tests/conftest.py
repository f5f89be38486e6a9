import atexit
import os
import shutil
import tempfile

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The default collection is index/ in the checkout: the tests, and every app or CLI they start, get one
# of their own instead of creating or changing it.
os.environ["QA_INDEX_DIR"] = tempfile.mkdtemp(prefix="article-qa-tests-")
atexit.register(shutil.rmtree, os.environ["QA_INDEX_DIR"], True)
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from qa.settings import REPO_ROOT, load_settings  # noqa: E402

SEEDS = REPO_ROOT / "seeds"


@pytest.fixture(scope="session")
def embedder():
    from qa.embedding.embedder import Embedder

    return Embedder.from_settings(load_settings())


@pytest.fixture(scope="session")
def reader():
    """The shipped reader (models/reader), as the app uses it."""
    from qa.reading.reader import ExtractiveReader

    return ExtractiveReader(load_settings().reader)


@pytest.fixture(scope="session")
def seed_pipeline(tmp_path_factory, embedder, reader):
    """The whole flow over a new collection (the seed articles) in a folder of its own."""
    from qa.answering.pipeline import Pipeline
    from qa.retrieval.retrievers import make_retriever
    from qa.store.collection import open_collection

    settings = load_settings(index_dir=tmp_path_factory.mktemp("seed-index"))
    store = open_collection(settings, embedder)
    return Pipeline(settings, embedder, store, reader, make_retriever(store, embedder, settings))


@pytest.fixture
def settings(tmp_path):
    """A new collection's settings: created with the seed articles when first opened."""
    return load_settings(index_dir=tmp_path / "index")


@pytest.fixture
def counting(embedder):
    from articles import CountingEmbedder

    return CountingEmbedder(embedder)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A real PostgreSQL 16 server with pgvector on 127.0.0.1 (qa.store.postgres_server, the one
    `python -m qa postgres start` runs), on a free port, stopped by its PID when the tests end."""
    import signal

    from qa.store import postgres_server

    port = postgres_server.free_port()
    folder = tmp_path_factory.mktemp("postgres")
    server = postgres_server.start(folder, port)
    yield server
    if not postgres_server.stop(folder):
        return
    try:
        os.kill(server.pid, 0)
    except ProcessLookupError:
        return
    os.kill(server.pid, signal.SIGKILL)


@pytest.fixture
def postgres_url(postgres, request):
    """The URL of a new, empty database on the test server, for one test."""
    import re

    import psycopg

    name = "t_" + re.sub(r"\W+", "_", request.node.name).lower()[-50:]
    admin = postgres.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    return postgres.url.rsplit("/", 1)[0] + "/" + name
