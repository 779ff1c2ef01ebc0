"""Loss functions: functional forms ``(loss, grad)`` and PyTorch-named classes.

Every loss is averaged over the batch N: ``loss = (1/N) Σ_n ℓ(pred_n, y_n)`` and the gradient
is taken w.r.t. the first argument (same shape and dtype as it), so it already carries the
1/N. Inputs may carry leading dimensions after N:

- element-wise losses (squared, BCE, BCE with logits) take ``(N, ...)`` and sum ℓ over every
  axis but the first, then average over N (a VAE's reconstruction term over pixels);
- the softmax cross-entropy takes logits ``(N, ..., C)`` (class axis **last**) with integer
  targets ``(N, ...)``, e.g. ``(N, T, V)`` with ``(N, T)`` for a character language model, and
  averages over every non-ignored position (targets equal to ``ignore_index`` are padding);
- the margin losses (hinge, logistic) stay one score per sample, ``(N,)`` or ``(N, 1)``.
 The losses of the linear-models lab are (lesson 1, "线性模型"): squared loss
(ŷ − y)²/2, SVM hinge loss max(1 − ŷy, 0) + λ/2 ‖w‖², logistic loss log(1 + exp(−yŷ)) with
y ∈ {−1, 1}; the softmax cross-entropy −log p_y with gradient p − onehot(y) comes from the
multi-class section ("多分类") and the feed-forward chapter's ℒ(y, ŷ) = −yᵀ log ŷ.

Classes: ``loss = L(pred, y)`` returns a Python float and keeps what ``L.backward()`` needs in
named attributes (documented per class); ``L.backward()`` returns ``dpred``.
"""

from __future__ import annotations

import numpy as np

from dlcourse import _validate as V
from dlcourse import functional as F

__all__ = [
    "squared_loss", "hinge_loss", "logistic_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "softmax_cross_entropy",
    "MSELoss", "HingeLoss", "LogisticLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
]

BCE_EPS = 1e-12  # binary_cross_entropy clips probs to [BCE_EPS, 1 - BCE_EPS]


def _batch(name: str, x: object, min_ndim: int, layout: str) -> np.ndarray:
    """Finite float array with at least ``min_ndim`` dimensions and N >= 1 samples."""
    arr = V.as_float_array(name, x)
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{name}: expected an array {layout} with at least {min_ndim} dimension"
            f"{'s' if min_ndim > 1 else ''}, got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one sample (N >= 1), got shape {arr.shape}")
    return arr


def _class_targets(y: object, shape: tuple[int, ...], num_classes: int,
                   ignore_index: int) -> np.ndarray:
    """Integer class targets of ``shape`` in [0, C), or equal to ``ignore_index`` (padding)."""
    arr = V.as_array("y", y)
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all() and np.all(
                arr == np.round(arr)):
            arr = arr.astype(np.int64)  # integer-valued floats are labels too
        else:
            raise TypeError(f"y: expected integer class labels, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(
            f"y: expected shape {shape} (the logits' shape without the class axis C), "
            f"got {arr.shape}"
        )
    kept = arr[arr != ignore_index]
    if kept.size and (kept.min() < 0 or kept.max() >= num_classes):
        bad = kept.min() if kept.min() < 0 else kept.max()
        which = "minimum" if kept.min() < 0 else "maximum"
        raise ValueError(
            f"y: expected labels in [0, {num_classes}) or ignore_index={ignore_index}, "
            f"got {which} {bad}"
        )
    return arr


def _targets(name: str, y: object, pred_name: str, pred: np.ndarray,
             allowed: tuple[float, ...] | None) -> np.ndarray:
    """Float targets of pred's shape; with ``allowed``, every value must be one of them."""
    arr = V.as_float_array(name, y)
    V.check_same_shape(pred_name, pred, name, arr)
    if allowed is not None:
        bad = np.unique(arr[~np.isin(arr, allowed)])
        if bad.size:
            want = "{" + ", ".join(f"{a:g}" for a in allowed) + "}"
            shown = ", ".join(f"{b:g}" for b in bad[:5]) + (", ..." if bad.size > 5 else "")
            raise ValueError(f"{name}: expected values in {want}, got {shown}")
    return arr


def _margin_inputs(scores: object, y: object) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Scores (N,) or (N, 1) (a ``Linear(D, 1)`` output) and labels in {−1, 1}, flattened.

    Returns ``(s, t, shape)`` with s, t of shape (N,) and ``shape`` the scores' own shape, so
    the gradient can be returned in the caller's layout.
    """
    s = _batch("scores", scores, 1, "(N,) or (N, 1)")
    if s.ndim > 2 or (s.ndim == 2 and s.shape[1] != 1):
        raise ValueError(f"scores: expected shape (N,) or (N, 1), got {s.shape}")
    shape = s.shape
    s = s.reshape(-1)
    y_arr = V.as_float_array("y", y)
    if y_arr.shape == shape:
        y_arr = y_arr.reshape(-1)
    t = _targets("y", y_arr, "scores", s, (-1.0, 1.0))
    return s, t, shape


def squared_loss(pred: object, y: object) -> tuple[float, np.ndarray]:
    """Squared loss (1/N) Σ_n ½‖pred_n − y_n‖², gradient (pred − y)/N.

    pred, y: (N,), (N, D) or (N, ...), same shape; the squares of a sample are summed over
    all its D entries (D = the product of the non-batch sizes). Note the ½ and the sum over
    D: PyTorch's ``mse_loss`` (mean over all N·D elements, no ½) equals ``2/D`` times this.
    """
    p = _batch("pred", pred, 1, "(N, ...)")
    t = _targets("y", y, "pred", p, None)
    n = p.shape[0]
    diff = p - t
    return 0.5 * float(np.sum(diff * diff)) / n, (diff / n).astype(p.dtype, copy=False)


def hinge_loss(scores: object, y: object, W: object = None, lam: float = 0.0
               ) -> tuple[float, np.ndarray] | tuple[float, np.ndarray, np.ndarray]:
    """SVM hinge loss (1/N) Σ_n max(0, 1 − y_n s_n) [+ λ/2 ‖W‖² if ``W`` is given].

    scores: (N,) or (N, 1) real-valued scores s = x·w + b; y: (N,) labels in {−1, 1}; W: any
    weights (the regulariser's argument), lam: λ >= 0. Returns ``(loss, dscores)`` with
    dscores_n = −y_n I(1 − y_n s_n > 0)/N (subgradient 0 on the hinge), or
    ``(loss, dscores, dW)`` with dW = λW when ``W`` is given.
    """
    s, t, shape = _margin_inputs(scores, y)
    lam = V.check_nonnegative("lam", lam)
    n = s.shape[0]
    margin = 1.0 - t * s
    loss = float(np.sum(np.maximum(margin, 0.0))) / n
    dscores = (-t * (margin > 0) / n).astype(s.dtype, copy=False).reshape(shape)
    if W is None:
        if lam != 0.0:
            raise ValueError(f"lam: a penalty lam={lam!r} needs the weights W, got W=None")
        return loss, dscores
    w = V.as_float_array("W", W)
    return loss + 0.5 * lam * float(np.sum(w * w)), dscores, lam * w


def logistic_loss(scores: object, y: object) -> tuple[float, np.ndarray]:
    """Logistic loss (1/N) Σ_n log(1 + exp(−y_n s_n)), y ∈ {−1, 1}.

    scores: (N,) or (N, 1); y: (N,). Computed as softplus(−ys) (no overflow); gradient
    −y σ(−ys)/N, returned in the shape of ``scores``.
    """
    s, t, shape = _margin_inputs(scores, y)
    n = s.shape[0]
    m = -t * s
    loss = float(np.sum(F.softplus(m))) / n
    return loss, (-t * F.sigmoid(m) / n).astype(s.dtype, copy=False).reshape(shape)


def binary_cross_entropy(probs: object, y: object) -> tuple[float, np.ndarray]:
    """Binary cross-entropy −(1/N) Σ [y log p + (1 − y) log(1 − p)], y ∈ {0, 1}.

    probs: (N,), (N, D) or (N, ...) probabilities in [0, 1]; y: same shape (the terms of a
    sample are summed over its non-batch axes, then averaged over N). probs are clipped to
    [1e-12, 1 − 1e-12] before the logs, so p = 0 or 1 gives a large finite loss; the gradient
    (p − y) / (p(1 − p)) / N is evaluated at the clipped p. Prefer
    :func:`binary_cross_entropy_with_logits` when you have logits.
    """
    p = _batch("probs", probs, 1, "(N, ...)")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(
            f"probs: expected values in [0, 1], got range [{p.min():g}, {p.max():g}]"
        )
    t = _targets("y", y, "probs", p, (0.0, 1.0))
    n = p.shape[0]
    q = np.clip(p.astype(np.float64), BCE_EPS, 1.0 - BCE_EPS)
    loss = -float(np.sum(t * np.log(q) + (1.0 - t) * np.log1p(-q))) / n
    return loss, ((q - t) / (q * (1.0 - q)) / n).astype(p.dtype)


def binary_cross_entropy_with_logits(logits: object, y: object) -> tuple[float, np.ndarray]:
    """BCE of σ(z) from logits z: (1/N) Σ [softplus(z) − y z], y ∈ {0, 1}; grad (σ(z) − y)/N.

    logits, y: (N,), (N, D) or (N, ...), same shape (summed over the non-batch axes, then
    averaged over N). Stable for any finite logits (no log of 0, no overflow).
    """
    z = _batch("logits", logits, 1, "(N, ...)")
    t = _targets("y", y, "logits", z, (0.0, 1.0))
    n = z.shape[0]
    loss = float(np.sum(F.softplus(z) - t * z)) / n
    return loss, ((F.sigmoid(z) - t) / n).astype(z.dtype, copy=False)


def softmax_cross_entropy(logits: object, y: object, *, ignore_index: int = -100,
                          label_smoothing: float = 0.0) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy −(1/M) Σ_i log softmax(z_i)_{y_i}; gradient (p − onehot(y))/M.

    Args:
        logits: (N, C) or (N, ..., C) scores z, class axis **last** (e.g. (N, T, V) for a
            language model; PyTorch's ``cross_entropy`` puts the classes on axis 1 instead).
        y: integer labels of the logits' shape without C, (N,) or (N, ...), each in [0, C)
            or equal to ``ignore_index``.
        ignore_index: target value marking a position to skip (padding), as in PyTorch
            (default −100): it adds nothing to the loss and gets a zero gradient row.
        label_smoothing: ε in [0, 1], PyTorch's definition: the target of a position is the
            distribution q = (1 − ε)·onehot(y) + ε/C instead of onehot(y), so the loss is
            −(1/M) Σ_i Σ_c q_ic log p_ic = (1 − ε)·CE + ε·(1/M) Σ_i (−(1/C) Σ_c log p_ic) and
            the gradient (p − q)/M. A regulariser (chapter 3): the model is no longer pushed to
            make one logit infinitely larger than the others.

    The sum runs over the M positions whose target is not ``ignore_index`` and the mean
    divides by M (PyTorch's ``reduction="mean"``); for (N, C) without padding M = N. When
    every target is ``ignore_index`` (M = 0) PyTorch returns NaN; this raises ``ValueError``
    instead, since a NaN loss would only surface later as a NaN parameter. Uses the stable
    log-softmax; the gradient has the logits' shape and dtype.
    """
    loss, dlogits, _ = _softmax_cross_entropy(logits, y, ignore_index, label_smoothing)
    return loss, dlogits


def _softmax_cross_entropy(logits: object, y: object, ignore_index: int,
                           label_smoothing: float = 0.0
                           ) -> tuple[float, np.ndarray, np.ndarray]:
    """``(loss, dlogits, probs)``: the work of :func:`softmax_cross_entropy`."""
    z = _batch("logits", logits, 2, "(N, C) or (N, ..., C)")
    ignore_index = V.check_int("ignore_index", ignore_index)
    eps = V.check_probability("label_smoothing", label_smoothing)
    c = z.shape[-1]
    labels = _class_targets(y, z.shape[:-1], c, ignore_index).reshape(-1)
    logp = F.log_softmax(z.reshape(-1, c), axis=1)  # (M_all, C)
    probs = np.exp(logp)
    dlogits = probs.copy()
    keep = labels != ignore_index
    if keep.all():  # the common case: no padding
        rows, cols = np.arange(labels.size), labels
    else:
        rows = np.flatnonzero(keep)
        if rows.size == 0:
            raise ValueError(
                f"y: every target equals ignore_index={ignore_index}, so there is no position "
                "to average the loss over (PyTorch would return NaN)"
            )
        cols = labels[rows]
        dlogits[~keep] = 0.0
    m = rows.size
    nll = -float(np.sum(logp[rows, cols]))
    if eps == 0.0:
        loss = nll / m
        dlogits[rows, cols] -= 1.0
    else:  # target q = (1 − ε) onehot + ε/C at the kept rows
        smooth = -float(np.sum(logp[rows])) / c
        loss = ((1.0 - eps) * nll + eps * smooth) / m
        dlogits[rows, cols] -= 1.0 - eps
        dlogits[rows] -= eps / c
    dlogits /= m
    return loss, dlogits.reshape(z.shape), probs.reshape(z.shape)


class _Loss:
    """Shared protocol: ``loss = L(pred, y)``, then ``L.backward() -> dpred``.

    Attributes after a call: ``pred`` and ``y`` (the arguments, as arrays), ``grad`` (d loss /
    d pred, pred's shape and dtype, already divided by N). Subclasses implement ``_loss``.
    """

    def __init__(self) -> None:
        self.pred: np.ndarray | None = None
        self.y: np.ndarray | None = None
        self.grad: np.ndarray | None = None

    def __call__(self, pred: object, y: object) -> float:
        return self.forward(pred, y)

    def forward(self, pred: object, y: object) -> float:
        """Return the batch-mean loss as a float and keep what ``backward`` needs."""
        self.pred = self.y = self.grad = None  # a failed call leaves no stale gradient
        loss, grad = self._loss(pred, y)
        self.pred, self.y, self.grad = np.asarray(pred), np.asarray(y), grad
        return loss

    def _loss(self, pred: object, y: object) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """Gradient of the last loss w.r.t. its first argument (same shape as it)."""
        if self.grad is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() called before the forward pass: "
                "compute loss = L(pred, y) first"
            )
        return self.grad


class MSELoss(_Loss):
    """Class form of :func:`squared_loss`: ½ sum over D, mean over N (PyTorch's ``MSELoss``
    averages over all N·D elements without the ½; this one follows the notes)."""

    def _loss(self, pred: object, y: object) -> tuple[float, np.ndarray]:
        return squared_loss(pred, y)


class HingeLoss(_Loss):
    """Class form of :func:`hinge_loss`: ``loss = L(scores, y, W=None)``, y ∈ {−1, 1}.

    With ``lam > 0`` every call must pass the weights ``W``: the loss adds λ/2 ‖W‖² and the
    attribute ``dW`` holds λW after the call (``None`` when called without ``W``).
    """

    def __init__(self, lam: float = 0.0) -> None:
        super().__init__()
        self.lam = V.check_nonnegative("lam", lam)
        self.dW: np.ndarray | None = None
        self._W: object = None

    def __call__(self, pred: object, y: object, W: object = None) -> float:
        return self.forward(pred, y, W)

    def forward(self, pred: object, y: object, W: object = None) -> float:
        self._W, self.dW = W, None
        return super().forward(pred, y)

    def _loss(self, pred: object, y: object) -> tuple[float, np.ndarray]:
        out = hinge_loss(pred, y, self._W, self.lam)  # lam > 0 without W raises
        if self._W is not None:
            self.dW = out[2]
        return out[0], out[1]


class LogisticLoss(_Loss):
    """Class form of :func:`logistic_loss` (scores (N,), y ∈ {−1, 1})."""

    def _loss(self, pred: object, y: object) -> tuple[float, np.ndarray]:
        return logistic_loss(pred, y)


class BCELoss(_Loss):
    """Class form of :func:`binary_cross_entropy` (probabilities in, y ∈ {0, 1})."""

    def _loss(self, pred: object, y: object) -> tuple[float, np.ndarray]:
        return binary_cross_entropy(pred, y)


class BCEWithLogitsLoss(_Loss):
    """Class form of :func:`binary_cross_entropy_with_logits` (logits in, y ∈ {0, 1}).

    Extra attribute after a call: ``probs`` = σ(logits).
    """

    def _loss(self, pred: object, y: object) -> tuple[float, np.ndarray]:
        out = binary_cross_entropy_with_logits(pred, y)
        self.probs = F.sigmoid(pred)
        return out


class CrossEntropyLoss(_Loss):
    """Class form of :func:`softmax_cross_entropy`: logits (N, ..., C), labels (N, ...).

    Args:
        ignore_index: target value to skip (padding), default −100 as in PyTorch.
        label_smoothing: ε in [0, 1] (default 0): targets (1 − ε)·onehot + ε/C, as PyTorch's
            ``CrossEntropyLoss(label_smoothing=ε)``; see :func:`softmax_cross_entropy`.

    Extra attribute after a call: ``probs`` = softmax(logits) over the last axis (the
    logits' shape, also at ignored positions); ``grad`` = (probs − onehot(y))/M with zero
    rows at ignored positions, M = the number of non-ignored positions (with label
    smoothing, (probs − q)/M).
    """

    def __init__(self, *, ignore_index: int = -100, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.ignore_index = V.check_int("ignore_index", ignore_index)
        self.label_smoothing = V.check_probability("label_smoothing", label_smoothing)

    def _loss(self, pred: object, y: object) -> tuple[float, np.ndarray]:
        loss, grad, self.probs = _softmax_cross_entropy(pred, y, self.ignore_index,
                                                        self.label_smoothing)
        return loss, grad
