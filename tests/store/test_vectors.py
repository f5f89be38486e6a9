"""When the dense index changes layout (qa.store.vectors.DenseLayout): pure arithmetic, no index."""

from qa.store.vectors import DenseLayout


def test_exact_below_the_threshold_and_when_switched_off():
    assert DenseLayout(0).lists_for(10**7) == 0
    assert DenseLayout(1000).lists_for(999) == 0
    assert DenseLayout(1000).lists_for(1000) == 64


def test_lists_grow_with_the_square_root_and_change_only_when_far_off():
    layout = DenseLayout(100_000)
    assert layout.lists_for(100_000) == 1216 and layout.lists_for(800_000) == 3520
    assert layout.lists_for(150_000, current=1216) == 1216  # near enough: no retraining
    assert layout.lists_for(400_000, current=1216) == 2496


def test_an_approximate_index_stays_until_the_collection_halves():
    layout = DenseLayout(1000)
    assert layout.lists_for(600, current=64) == 64
    assert layout.lists_for(499, current=64) == 0
