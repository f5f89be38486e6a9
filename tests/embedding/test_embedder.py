"""The embedder's identity: what decides whether stored vectors can be used with it."""


def test_retrained_weights_of_the_same_size_in_the_same_folder_change_the_identity(tmp_path):
    """The identity used to hash the config and the weights' size only: new vectors of the same shape
    were used with an old index. Weights are compared by content now, so the collection is indexed again
    (tests/store/test_local_store.py::test_collection_from_another_model_is_indexed_again)."""
    import shutil

    from qa.embedding.embedder import Embedder
    from qa.settings import SHIPPED_EMBEDDER

    folder = tmp_path / "embedder"
    shutil.copytree(SHIPPED_EMBEDDER, folder)
    before = Embedder(str(folder), runtime="torch").identity
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # same size, one bit of one weight changed
    weights.write_bytes(bytes(data))
    assert Embedder(str(folder), runtime="torch").identity != before
