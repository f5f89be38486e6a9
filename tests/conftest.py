import atexit
import os
import shutil
import tempfile

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The default collection lives in the user's data folder: the tests, and every app or CLI they start,
# get one of their own instead of creating or changing the user's.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="article-qa-tests-")
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], True)
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
    """The whole flow over seeds/, with its own index folder so the repo's index/ is untouched."""
    from qa.answering.pipeline import Pipeline
    from qa.retrieval.retrievers import make_retriever
    from qa.store.indexing import open_store

    settings = load_settings(corpus_dir=SEEDS, index_dir=tmp_path_factory.mktemp("seed-index"))
    index, skipped = open_store(settings, embedder)
    return Pipeline(settings, embedder, index, reader, make_retriever(index, embedder, settings), skipped)


@pytest.fixture
def corpus(tmp_path):
    """A writable copy of seeds/ (the repository's seeds/ is never written by a test)."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    for p in folder.iterdir():
        p.chmod(0o644)
    return folder


@pytest.fixture
def settings(corpus, tmp_path):
    return load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")


@pytest.fixture
def counting(embedder):
    from articles import CountingEmbedder

    return CountingEmbedder(embedder)
