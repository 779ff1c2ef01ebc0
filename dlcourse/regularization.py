"""Regularisation (chapter 3, §5.3.3 of the notes): parameter penalties and bagging.

- **Parameter norm penalties** (5.46): J̃(θ) = J(θ) + α Ω(θ), with Ω the L2 penalty ½‖w‖²
  (5.47, "weight decay", ridge / Tikhonov) or the L1 penalty ‖w‖₁ (5.51–5.52, LASSO).
  :func:`l2_penalty` and :func:`l1_penalty` return the value αΩ and **add** its (sub)gradient
  αw (5.48) or α·sign(w) (5.53) into each weight's ``grad``, so they are called between the
  loss's backward and the optimiser's step. Plain SGD then performs
  w ← w − ε(αw + ∇J) = (1 − εα)w − ε∇J, the shrink form (5.49–5.50); ``tests`` check it.
  :class:`Penalty` bundles both with their coefficients, and :class:`PenalizedOptimizer`
  wraps any optimiser so that ``fit`` applies the penalty before every step.
- **Which parameters**: as the notes say, weights are penalised and biases are not. Without
  names to go by, the rule is the parameter's rank: arrays with ``ndim >= 2`` (``Linear.W``,
  convolution kernels, ``WeightNormLinear.v``) are weights; 1-D and scalar ones (biases,
  BatchNorm/LayerNorm γ and β, weight norm's ``g``, PReLU's slope) are not.
  ``weights_only=False`` penalises everything. Frozen parameters (``requires_grad=False``) are
  skipped, as the optimisers skip them.
- **A separate α per layer** (5.46, "对网络的每一层使用单独的惩罚"): pass ``lam`` as a dict
  mapping a name prefix of ``model.named_parameters()`` to its α, e.g.
  ``{"0": 1e-4, "2": 1e-3}`` for the first and second ``Linear`` of a ``Sequential``; the
  longest matching prefix wins and a weight no key matches is not penalised.
- **Bagging** (§ 集成方法): :func:`bootstrap_indices` draws k resamples of size N with
  replacement (each holds about 1 − (1 − 1/N)^N → 1 − 1/e ≈ 63.2 % of the distinct samples:
  :func:`unique_fraction`; the notes' "about 2/3"), and :func:`average_predictions` /
  :func:`bagging_predict` average the members' outputs (the ensemble of (5.54)).

Early stopping is :class:`dlcourse.callbacks.EarlyStopping`, data augmentation is in
:mod:`dlcourse.data.transforms`, label smoothing is ``CrossEntropyLoss(label_smoothing=ε)``
and dropout is :class:`dlcourse.nn.Dropout`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse import _validate as V
from dlcourse.nn.module import Module, Parameter
from dlcourse.train import predict

__all__ = [
    "penalized_parameters", "l2_penalty", "l1_penalty", "Penalty", "PenalizedOptimizer",
    "bootstrap_indices", "unique_fraction", "average_predictions", "bagging_predict",
]

Params = Module | Iterable[Parameter] | Iterable[tuple[str, Parameter]]
Lam = float | Mapping[str, float]


def _named(params: object) -> list[tuple[str | None, Parameter]]:
    """``(name or None, Parameter)`` pairs of a Module, a list of Parameters or of pairs."""
    if isinstance(params, Module):
        return list(params.named_parameters())
    if isinstance(params, Parameter):
        return [(None, params)]
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(
            "params: expected a Module, an iterable of Parameters or of (name, Parameter) "
            f"pairs, got {type(params).__name__}"
        )
    out: list[tuple[str | None, Parameter]] = []
    for item in params:
        if isinstance(item, Parameter):
            out.append((None, item))
        elif (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
              and isinstance(item[1], Parameter)):
            out.append((item[0], item[1]))
        else:
            raise TypeError(
                "params: expected Parameters or (name, Parameter) pairs, got an item of type "
                f"{type(item).__name__}"
            )
    return out


def penalized_parameters(params: Params, lam: Lam, *, weights_only: bool = True
                         ) -> list[tuple[Parameter, float]]:
    """The parameters a penalty acts on, each with its coefficient α.

    Args:
        params: a ``Module`` (its ``named_parameters()``), an iterable of ``Parameter`` or of
            ``(name, Parameter)`` pairs.
        lam: α >= 0 for every penalised parameter, or a dict ``{name prefix: α}`` (needs
            names; longest prefix wins; unmatched weights get α = 0 and are left out; a key
            that matches no parameter raises ``ValueError``, since it is surely a typo).
        weights_only: skip parameters with ``ndim < 2`` (biases, γ/β of the normalisations).

    Returns:
        ``[(parameter, α), ...]`` for the trainable (``requires_grad``) parameters selected,
        in the order of ``params``; parameters with α = 0 are left out.
    """
    if not isinstance(weights_only, (bool, np.bool_)):
        raise TypeError(f"weights_only: expected a bool, got {type(weights_only).__name__}")
    named = _named(params)
    chosen = [(n, p) for n, p in named
              if p.requires_grad and (p.data.ndim >= 2 or not weights_only)]
    if not isinstance(lam, Mapping):
        alpha = V.check_nonnegative("lam", lam)
        return [(p, alpha) for _, p in chosen] if alpha > 0 else []
    alphas = {}
    for key, value in lam.items():
        if not isinstance(key, str):
            raise TypeError(f"lam: expected str name prefixes as keys, got {key!r}")
        alphas[key] = V.check_nonnegative(f"lam[{key!r}]", value)
    if any(n is None for n, _ in named):
        raise ValueError(
            "lam: a per-layer dict of coefficients needs parameter names; pass the Module or "
            "(name, Parameter) pairs, got unnamed Parameters"
        )

    def matches(name: str, key: str) -> bool:
        return key == "" or name == key or name.startswith(key + ".")

    unused = [k for k in alphas if not any(matches(n, k) for n, _ in named if n is not None)]
    if unused:
        names = [n for n, _ in named]
        raise ValueError(f"lam: keys {unused} match no parameter name; the names are {names}")
    out = []
    for name, p in chosen:
        assert name is not None
        keys = [k for k in alphas if matches(name, k)]
        if keys:
            alpha = alphas[max(keys, key=len)]
            if alpha > 0:
                out.append((p, alpha))
    return out


def l2_penalty(params: Params, lam: Lam, *, weights_only: bool = True,
               add_grad: bool = True) -> float:
    """L2 penalty α·½‖w‖² (5.47), summed over the penalised weights; adds αw to ``w.grad``.

    Args:
        params, lam, weights_only: see :func:`penalized_parameters` (``lam`` is α).
        add_grad: add the gradient αw (5.48) into each weight's ``grad`` (default); False only
            computes the value (to log it).

    Returns:
        The value Σ_w α_w ½‖w‖² as a float. Called after the loss's backward and before
        ``optimizer.step()``, SGD with learning rate ε then does w ← (1 − εα)w − ε∇J (5.50),
        which is ``SGD(weight_decay=α)`` restricted to the weights.
    """
    total = 0.0
    for p, alpha in penalized_parameters(params, lam, weights_only=weights_only):
        total += 0.5 * alpha * float(np.sum(p.data.astype(np.float64) ** 2))
        if add_grad:
            p.grad += alpha * p.data
    return total


def l1_penalty(params: Params, lam: Lam, *, weights_only: bool = True,
               add_grad: bool = True) -> float:
    """L1 penalty α‖w‖₁ = α Σ|w_i| (5.51–5.52); adds the subgradient α·sign(w) (5.53).

    Same arguments as :func:`l2_penalty`. At w_i = 0 the subgradient used is 0 (``np.sign``),
    the one element of [−α, α] that leaves a zero weight where it is.
    """
    total = 0.0
    for p, alpha in penalized_parameters(params, lam, weights_only=weights_only):
        total += alpha * float(np.sum(np.abs(p.data.astype(np.float64))))
        if add_grad:
            p.grad += alpha * np.sign(p.data)
    return total


class Penalty:
    """α₂·½‖w‖² + α₁‖w‖₁ on a model's weights: ``value = penalty()`` adds the gradients.

    Args:
        params: a ``Module`` or parameters, as :func:`penalized_parameters`. A Module is kept,
            so parameters created later are seen.
        l2, l1: coefficients α >= 0 (floats or per-layer dicts of name prefix -> α).
        weights_only: penalise only parameters with ``ndim >= 2`` (default, as the notes).

    Attributes: ``last_value`` (the value of the latest call, None before the first).
    """

    def __init__(self, params: Params, l2: Lam = 0.0, l1: Lam = 0.0, *,
                 weights_only: bool = True) -> None:
        self.params = params if isinstance(params, Module) else _named(params)
        self.l2, self.l1, self.weights_only = l2, l1, weights_only
        for name, lam in (("l2", l2), ("l1", l1)):  # validate now, naming the argument
            try:
                penalized_parameters(self.params, lam, weights_only=weights_only)
            except (TypeError, ValueError) as err:
                raise type(err)(f"{name}: {err}") from None
        self.last_value: float | None = None

    def _pairs(self) -> Params:
        if isinstance(self.params, Module):
            return self.params
        return [(n, p) if n is not None else p for n, p in self.params]  # type: ignore[misc]

    def __call__(self, add_grad: bool = True) -> float:
        """Return α₂·½‖w‖² + α₁‖w‖₁ and (by default) add its gradient into the weights."""
        ps = self._pairs()
        value = (l2_penalty(ps, self.l2, weights_only=self.weights_only, add_grad=add_grad)
                 + l1_penalty(ps, self.l1, weights_only=self.weights_only, add_grad=add_grad))
        self.last_value = value
        return value

    def __repr__(self) -> str:
        return f"Penalty(l2={self.l2!r}, l1={self.l1!r}, weights_only={self.weights_only})"


class PenalizedOptimizer:
    """An optimiser that applies a :class:`Penalty` before each step: use it with ``fit``.

    ``step()`` adds the penalty's gradient into the weights' ``grad`` (the loss's gradient is
    already there), then calls ``optimizer.step()``; every other attribute (``zero_grad``,
    ``lr``, ``schedule``, ``state_dict`` ...) is the wrapped optimiser's. The penalty's value
    is in ``penalty.last_value`` (``fit`` records the data loss only).

    Example:
        >>> from dlcourse.nn import Linear
        >>> from dlcourse.optim import SGD
        >>> model = Linear(3, 2)
        >>> opt = PenalizedOptimizer(SGD(model.parameters(), lr=0.1), Penalty(model, l1=1e-3))
    """

    def __init__(self, optimizer: Any, penalty: Penalty | Callable[[], float]) -> None:
        if not callable(getattr(optimizer, "step", None)):
            raise TypeError(
                f"optimizer: expected an optimiser with step(), got {type(optimizer).__name__}"
            )
        if not callable(penalty):
            raise TypeError(f"penalty: expected a Penalty, got {type(penalty).__name__}")
        self.optimizer, self.penalty = optimizer, penalty

    def step(self, *args: Any, **kwargs: Any) -> Any:
        """Add the penalty's gradient, then take the wrapped optimiser's step."""
        self.penalty()
        return self.optimizer.step(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in ("optimizer", "penalty"):  # not set yet (e.g. during unpickling)
            raise AttributeError(name)
        return getattr(self.optimizer, name)


# ---- bagging -----------------------------------------------------------------------------------


def bootstrap_indices(n: int, k: int, rng: np.random.Generator | int | None = None,
                      size: int | None = None) -> np.ndarray:
    """k bootstrap resamples of range(n): indices drawn uniformly **with** replacement.

    Args:
        n: number of samples N >= 1. k: number of resamples (ensemble members) >= 1.
        rng: Generator, seed or None. size: samples per resample (default N, as Bagging).

    Returns:
        int64 array (k, size); row i indexes the training set of member i (``X[idx[i]]``).
    """
    n = V.check_int("n", n, minimum=1)
    k = V.check_int("k", k, minimum=1)
    size = n if size is None else V.check_int("size", size, minimum=1)
    return V.as_rng(rng).integers(0, n, size=(k, size), dtype=np.int64)


def unique_fraction(indices: object, n: int | None = None) -> np.ndarray:
    """Fraction of the N samples each resample contains at least once.

    Args:
        indices: (k, M) or (M,) integer indices in [0, n). n: N (default: M, the row length).

    Returns:
        float64 (k,) (a 0-d array for 1-D input); its expectation is 1 − (1 − 1/N)^M, which
        for M = N tends to 1 − 1/e ≈ 0.632.
    """
    idx = V.as_array("indices", indices)
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"indices: expected integer indices, got dtype {idx.dtype}")
    if idx.ndim not in (1, 2) or idx.shape[-1] == 0:
        raise ValueError(f"indices: expected shape (k, M) or (M,) with M >= 1, got {idx.shape}")
    n = idx.shape[-1] if n is None else V.check_int("n", n, minimum=1)
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"indices: expected values in [0, {n}), got range "
                         f"[{idx.min()}, {idx.max()}]")
    rows = idx.reshape(-1, idx.shape[-1])
    seen = np.zeros((rows.shape[0], n), dtype=bool)
    seen[np.arange(rows.shape[0])[:, None], rows] = True
    frac = seen.sum(axis=1) / n
    return frac if idx.ndim == 2 else frac[0]


def average_predictions(predictions: Sequence[object] | np.ndarray,
                        weights: object | None = None) -> np.ndarray:
    """Average of k members' outputs (model averaging; the ensemble of (5.54)).

    Args:
        predictions: k arrays of one shape (N, ...) (probabilities, regression outputs), or
            one array (k, N, ...).
        weights: optional (k,) non-negative member weights (normalised to sum 1).

    Returns:
        (N, ...) float array: (1/k) Σ_i pred_i, or Σ_i w_i pred_i / Σ w. Average
        probabilities, not logits, for a classifier (``softmax`` first).
    """
    if isinstance(predictions, np.ndarray):
        stack = V.as_float_array("predictions", predictions)
    else:
        arrs = [V.as_float_array(f"predictions[{i}]", p) for i, p in enumerate(predictions)]
        if not arrs:
            raise ValueError("predictions: expected at least one member's output, got none")
        for i, a in enumerate(arrs[1:], start=1):
            V.check_same_shape("predictions[0]", arrs[0], f"predictions[{i}]", a)
        stack = np.stack(arrs)
    if stack.ndim < 2 or stack.shape[0] == 0:
        raise ValueError(f"predictions: expected shape (k, N, ...) with k >= 1, got {stack.shape}")
    if weights is None:
        return stack.mean(axis=0)
    w = V.as_float_array("weights", weights)
    if w.shape != (stack.shape[0],) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights: expected {stack.shape[0]} non-negative weights with a "
                         f"positive sum, got {w.tolist()}")
    return np.tensordot(w / w.sum(), stack, axes=1)


def bagging_predict(members: Sequence[Any], X: object, *,
                    transform: Callable[[np.ndarray], np.ndarray] | None = None,
                    batch_size: int = 256) -> np.ndarray:
    """Average the outputs of trained ensemble members on X.

    Args:
        members: Modules (run with :func:`dlcourse.train.predict`: eval mode, ``no_grad``) or
            plain callables ``f(X) -> (N, ...)``.
        X: inputs (N, ...).
        transform: applied to each member's output before averaging, e.g.
            ``dlcourse.functional.softmax`` to average class probabilities.
        batch_size: batch size for Modules.

    Returns:
        (N, ...) the averaged outputs.
    """
    if not isinstance(members, Sequence) or len(members) == 0:
        raise ValueError("members: expected a non-empty sequence of models, got "
                         f"{members!r}")
    outs = []
    for i, m in enumerate(members):
        if isinstance(m, Module):
            out = predict(m, X, batch_size=batch_size)
        elif callable(m):
            out = np.asarray(m(X))
        else:
            raise TypeError(f"members[{i}]: expected a Module or a callable, got "
                            f"{type(m).__name__}")
        outs.append(transform(out) if transform is not None else out)
    return average_predictions(outs)
