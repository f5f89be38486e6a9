"""When the dense index changes layout (qa.store.vectors.DenseLayout), and how an HNSW index forgets
removed vectors it cannot delete (real FAISS, random unit vectors: no model needed)."""

import numpy as np

from qa.store.vectors import DenseLayout, VectorIndex


def test_the_index_is_exact_until_the_threshold_and_stays_approximate_down_to_half_of_it():
    assert not DenseLayout(0).approximate(10**7, now=False)
    assert not DenseLayout(1000).approximate(999, now=False)
    assert DenseLayout(1000).approximate(1000, now=False)
    assert DenseLayout(1000).approximate(600, now=True)
    assert not DenseLayout(1000).approximate(499, now=True)


def unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, 32)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_removed_vectors_are_skipped_and_a_graph_a_fifth_dead_is_rebuilt():
    layout = DenseLayout(100, rebuild_dead=0.2)
    vectors, keys = unit(500), np.arange(10, 510)
    graph = VectorIndex.built(32, keys, vectors, layout)
    assert graph.approximate and not layout.rebuild(graph)
    assert graph.search(vectors[:1], 1)[0][0][0] == 10

    graph.remove([10, 11, 9999])  # 9999 was never there
    assert len(graph) == 498 and graph.stored == 500
    assert 10 not in {k for k, _ in graph.search(vectors[:1], 20)[0]}
    assert graph.search(vectors[2:3], 1)[0][0][0] == 12
    graph.remove(keys[:99])
    assert not layout.rebuild(graph)  # 99 of 500
    graph.remove(keys[99:100])
    assert layout.rebuild(graph)

    graph.retain(keys[200:])  # what a store does with a graph loaded from a snapshot
    assert len(graph) == 300
    assert not {k for row in graph.search(vectors[:200], 5) for k, _ in row} & set(keys[:200].tolist())

    exact = VectorIndex(32)
    exact.add(keys, vectors)
    exact.remove(keys[:450])
    assert not exact.approximate and exact.stored == len(exact) == 50 and not layout.rebuild(exact)
