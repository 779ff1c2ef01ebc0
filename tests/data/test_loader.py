"""Tests of dlcourse/data/loader.py."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.data import DataLoader


def _data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n) * 10
    return X, y


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "sizes"),
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (10, 5, False, [5, 5]),
        (10, 5, True, [5, 5]),
        (10, 32, False, [10]),
        (10, 32, True, []),
        (1, 1, False, [1]),
    ],
)
def test_batch_sizes_and_len(n: int, batch_size: int, drop_last: bool, sizes: list[int]) -> None:
    X, y = _data(n)
    loader = DataLoader(X, y, batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(sizes)
    got = [(len(xb), len(yb)) for xb, yb in loader]
    assert got == [(s, s) for s in sizes]


def test_no_shuffle_keeps_order_and_pairs() -> None:
    X, y = _data(10)
    batches = list(DataLoader(X, y, batch_size=4))
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), X)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    assert np.shares_memory(batches[0][0], X)  # views, no copy


def test_shuffle_is_a_permutation_with_pairs_kept() -> None:
    X, y = _data(23)
    loader = DataLoader(X, y, batch_size=5, shuffle=True, rng=0)
    xs = np.concatenate([xb for xb, _ in loader])
    ys = np.concatenate([yb for _, yb in loader])  # second epoch: other order, same pairs
    assert sorted(xs[:, 0].tolist()) == X[:, 0].tolist()
    assert sorted(ys.tolist()) == y.tolist()
    for xb, yb in loader:
        np.testing.assert_array_equal(xb[:, 0] / 3 * 10, yb)  # row i of X is 3i, 3i+1, 3i+2
        assert not np.shares_memory(xb, X)


def test_shuffle_new_order_each_epoch_and_reproducible() -> None:
    X, y = _data(50)

    def epochs(loader: DataLoader, k: int) -> list[list[int]]:
        return [np.concatenate([yb for _, yb in loader]).tolist() for _ in range(k)]

    a = epochs(DataLoader(X, y, batch_size=7, shuffle=True, rng=123), 3)
    b = epochs(DataLoader(X, y, batch_size=7, shuffle=True, rng=123), 3)
    c = epochs(DataLoader(X, y, batch_size=7, shuffle=True, rng=124), 3)
    assert a == b
    assert a[0] != a[1] and a[1] != a[2]
    assert a != c
    # the epochs are the permutations drawn from the seeded generator, in order
    rng = np.random.default_rng(123)
    assert a == [(rng.permutation(50) * 10).tolist() for _ in range(3)]


def test_generator_rng_is_used_and_global_state_untouched() -> None:
    X, y = _data(8)
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking it is untouched)
    gen = np.random.default_rng(5)
    list(DataLoader(X, y, batch_size=3, shuffle=True, rng=gen))
    assert gen.bit_generator.state != np.random.default_rng(5).bit_generator.state
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


def test_without_targets_and_with_images() -> None:
    X = np.zeros((6, 1, 4, 4), dtype=np.float32)
    batches = list(DataLoader(X, batch_size=4))
    assert [xb.shape for xb, _ in batches] == [(4, 1, 4, 4), (2, 1, 4, 4)]
    assert all(yb is None for _, yb in batches)
    assert batches[0][0].dtype == np.float32


def test_validation_errors() -> None:
    X, y = _data(5)
    with pytest.raises(ValueError, match=r"y: expected 5 targets \(len\(X\)\), got shape \(4,\)"):
        DataLoader(X, y[:4])
    with pytest.raises(ValueError, match=r"batch_size: expected an integer >= 1, got 0"):
        DataLoader(X, y, batch_size=0)
    with pytest.raises(TypeError, match=r"batch_size: expected an integer"):
        DataLoader(X, y, batch_size=2.5)
    with pytest.raises(TypeError, match=r"shuffle: expected a bool"):
        DataLoader(X, y, shuffle="yes")
    with pytest.raises(ValueError, match=r"X: expected at least one sample"):
        DataLoader(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"X: expected an array of shape \(N, \.\.\.\)"):
        DataLoader(np.float64(1.0))
    with pytest.raises(TypeError, match=r"rng: expected a numpy Generator"):
        DataLoader(X, y, rng="seed")


def test_docstring_example() -> None:
    import doctest

    import dlcourse.data.loader as mod

    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0


# ---- transform (augmentation) ----------------------------------------------------------------


def test_transform_is_applied_to_each_input_batch_and_not_to_targets() -> None:
    X, y = _data(10)
    before = X.copy()
    calls = []

    def double(xb: np.ndarray) -> np.ndarray:
        calls.append(len(xb))
        return xb * 2.0

    loader = DataLoader(X, y, batch_size=4, transform=double)
    batches = list(loader)
    assert calls == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), 2.0 * X)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    np.testing.assert_array_equal(X, before)
    list(loader)
    assert calls == [4, 4, 2, 4, 4, 2]  # once per batch, every epoch


def test_random_transform_gives_new_versions_each_epoch() -> None:
    from dlcourse.data.transforms import GaussianNoise

    X, y = _data(6)
    loader = DataLoader(X, y, batch_size=6, transform=GaussianNoise(1.0, rng=0))
    (a, _), (b, _) = next(iter(loader)), next(iter(loader))
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, X)


def test_transform_bad_arguments() -> None:
    X, y = _data(6)
    with pytest.raises(TypeError, match="transform: expected a callable"):
        DataLoader(X, y, transform=3)
    loader = DataLoader(X, y, batch_size=4, transform=lambda xb: xb[:1])
    with pytest.raises(ValueError, match=r"transform: expected an array with the batch's 4 "
                                         r"samples \(shape \(4, \.\.\.\)\), got \(1, 3\)"):
        next(iter(loader))
