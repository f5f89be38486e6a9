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
