"""Mini-batches over in-memory arrays: :class:`DataLoader`.

Mini-batch SGD looks at the training set ``batch_size`` samples at a time; with
``shuffle=True`` each epoch visits the samples in a new random order, drawn from the
loader's own ``np.random.Generator`` (so two loaders built with the same seed produce the
same sequence of epochs, and nothing touches numpy's global random state).

``transform=fn`` applies ``fn(xb)`` to every input batch as it is yielded (data augmentation,
chapter 3; :mod:`dlcourse.data.transforms`): once per batch, vectorised over its B samples, so
each epoch sees new random versions of the same images. The random transforms hold their own
``np.random.Generator`` (their ``rng`` argument), independent of the loader's shuffling
stream (a transform is a plain callable of the batch, usable outside a loader too); seeding
both makes a run reproducible. Any callable ``fn(xb) -> xb'`` works (a lambda too); it must
not modify ``xb`` in place (without shuffling ``xb`` is a view of ``X``) and must keep the
batch size B.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from dlcourse._validate import as_array, as_rng, check_int

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``(xb, yb)`` mini-batches of ``(X, y)``.

    Args:
        X: inputs, shape (N, ...) (e.g. (N, D) or (N, C, H, W)).
        y: targets, shape (N, ...) (e.g. labels (N,)), or None.
        batch_size: samples per batch, >= 1. The last batch is smaller when ``batch_size``
            does not divide N, unless ``drop_last``.
        shuffle: visit the samples in a new random order each epoch (each ``iter()``).
        drop_last: skip the last, incomplete batch.
        rng: ``np.random.Generator``, int seed or None, used for shuffling.
        transform: None, or a callable ``fn(xb) -> xb'`` applied to each input batch
            (B, ...) -> (B, ...) (augmentation); ``yb`` is passed through unchanged.

    Iterating yields ``(xb, yb)`` with ``xb`` of shape (B, ...) and ``yb`` of shape (B, ...)
    (``yb`` is None when ``y`` is None). Without shuffling the batches are **views** of ``X``
    and ``y`` (no copy; do not modify them in place); with shuffling they are copies.
    ``len(loader)`` is the number of batches per epoch.

    Example:
        >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
        >>> [yb.tolist() for _, yb in DataLoader(X, y, batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self,
        X: object,
        y: object | None = None,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: np.random.Generator | int | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.X = as_array("X", X)
        if self.X.ndim < 1:
            raise ValueError(f"X: expected an array of shape (N, ...), got shape {self.X.shape}")
        if self.X.shape[0] < 1:
            raise ValueError(f"X: expected at least one sample, got shape {self.X.shape}")
        self.y = None if y is None else as_array("y", y)
        if self.y is not None and (self.y.ndim < 1 or self.y.shape[0] != self.X.shape[0]):
            raise ValueError(
                f"y: expected {self.X.shape[0]} targets (len(X)), got shape {self.y.shape}"
            )
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name}: expected a bool, got {type(flag).__name__} {flag!r}")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = as_rng(rng)
        if transform is not None and not callable(transform):
            raise TypeError(
                f"transform: expected a callable fn(xb) -> xb or None, got "
                f"{type(transform).__name__} {transform!r}"
            )
        self.transform = transform

    @property
    def num_samples(self) -> int:
        """N, the number of samples."""
        return int(self.X.shape[0])

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        n, b = self.num_samples, self.batch_size
        order = self.rng.permutation(n) if self.shuffle else None
        for k in range(len(self)):
            start, stop = k * b, min((k + 1) * b, n)
            if order is None:
                xb = self.X[start:stop]
                yb = None if self.y is None else self.y[start:stop]
            else:
                idx = order[start:stop]
                xb = self.X[idx]
                yb = None if self.y is None else self.y[idx]
            if self.transform is not None:
                xb = self._apply_transform(xb)
            yield xb, yb

    def _apply_transform(self, xb: np.ndarray) -> np.ndarray:
        out = self.transform(xb)  # type: ignore[misc]
        if not isinstance(out, np.ndarray) or out.ndim < 1 or out.shape[0] != xb.shape[0]:
            got = out.shape if isinstance(out, np.ndarray) else type(out).__name__
            raise ValueError(
                f"transform: expected an array with the batch's {xb.shape[0]} samples "
                f"(shape ({xb.shape[0]}, ...)), got {got}"
            )
        return out

    def __repr__(self) -> str:
        return (
            f"DataLoader(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}"
            + ("" if self.transform is None else f", transform={self.transform!r}") + ")"
        )
