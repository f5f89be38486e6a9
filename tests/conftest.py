import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from qa.config import REPO_ROOT, load_settings  # noqa: E402

SEEDS = REPO_ROOT / "seeds"


@pytest.fixture(scope="session")
def embedder():
    from qa.embedding import Embedder

    return Embedder(load_settings().embedder_name())


@pytest.fixture(scope="session")
def reader():
    """The shipped reader (models/reader), as the app uses it."""
    from qa.answering import build_reader

    return build_reader(load_settings())


@pytest.fixture(scope="session")
def seed_pipeline(tmp_path_factory, embedder, reader):
    """The whole flow over seeds/, with its own index folder so the repo's index/ is untouched."""
    from qa.answering import Pipeline
    from qa.index import open_index
    from qa.retrieval import make_retriever

    settings = load_settings(corpus_dir=SEEDS, index_dir=tmp_path_factory.mktemp("seed-index"))
    index, skipped = open_index(settings, embedder)
    return Pipeline(settings, embedder, index, reader, make_retriever(index, embedder, settings), skipped)
