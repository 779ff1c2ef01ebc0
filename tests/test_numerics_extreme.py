"""Extreme inputs cannot break the numerics (issue 15, part 3).

Under ``np.errstate(over="raise", invalid="raise", divide="raise")`` (underflow to zero is
harmless and allowed), with |x| up to 1e4 in float32 and float64:

- every activation of the registry ``dlcourse.nn.ACTIVATIONS`` (functional ``f`` and ``f_grad``
  and the layer's forward and backward), ``softmax`` and ``log_softmax``;
- every loss of ``dlcourse.losses.__all__`` (functional and class forms, value and gradient);
- the normalisation layers BatchNorm1d/2d (train and eval), LayerNorm and LocalResponseNorm

return finite values of the input's dtype that are also *right*: the activations and the
softmax are compared with closed forms evaluated at 50 digits by mpmath (PyTorch is less
accurate than the package in the tails: its sigmoid'(50) is 0, the true value 1.9e-22), the
losses and the normalisation layers with PyTorch in float64 or with the closed form, and the
limits are checked exactly (σ(−1e4) = 0, softplus(1e4) = 1e4, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import dlcourse.functional as F
import dlcourse.losses as L
import dlcourse.nn as nn

mp = pytest.importorskip("mpmath", reason="mpmath (installed with torch's sympy) is the reference")
mp.mp.dps = 50

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

DTYPES = [np.float32, np.float64]
# around every threshold that matters: exp overflows past 88.7 (float32) / 709.8 (float64),
# tanh(x) rounds to ±1 past 9 / 19, x³ of the GELU tanh form overflows float32 past 7e12^(1/3)
GRID = np.array([
    -1e4, -3e3, -1e3, -710.0, -709.0, -300.0, -100.0, -89.0, -88.0, -50.0, -30.0, -20.0, -9.5,
    -5.0, -1.0, -0.3, -1e-8, -1e-30, 0.0, 1e-30, 1e-8, 0.3, 1.0, 5.0, 9.5, 20.0, 30.0, 50.0,
    88.0, 89.0, 100.0, 300.0, 709.0, 710.0, 1e3, 3e3, 1e4,
])
# relative tolerance against the 50-digit value, and the absolute floor (results in the
# subnormal range carry an absolute, not a relative, rounding error)
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
ATOL = {np.float32: 1e-37, np.float64: 1e-300}


@contextmanager
def strict() -> Iterator[None]:
    """Overflow, invalid operations and division by zero raise; underflow is allowed."""
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        yield


def _finite(name: str, a: np.ndarray, dtype: type) -> None:
    assert a.dtype == dtype, f"{name}: {np.dtype(dtype).name} in, {a.dtype} out"
    assert np.isfinite(a).all(), f"{name}: non-finite values {a[~np.isfinite(a)]}"


# ---- references at 50 digits -------------------------------------------------------------------

def _sig(t: Any) -> Any:
    return 1 / (1 + mp.exp(-t))


_C = mp.sqrt(2 / mp.pi)
_K = mp.mpf("0.044715")
_S = mp.mpf("1.702")


def _phi(t: Any) -> Any:
    return mp.exp(-t * t / 2) / mp.sqrt(2 * mp.pi)


def _Phi(t: Any) -> Any:
    return mp.erfc(-t / mp.sqrt(2)) / 2


def _gelu_tanh_arg(t: Any) -> Any:
    return 2 * _C * (t + _K * t**3)  # 2u: 0.5(1 + tanh(u)) = σ(2u)


# registry name -> [(keyword arguments, f, f')] of closed forms
REFERENCES: dict[str, list[tuple[dict[str, Any], Callable[[Any], Any], Callable[[Any], Any]]]] = {
    "sigmoid": [({}, _sig, lambda t: _sig(t) * _sig(-t))],
    "tanh": [({}, mp.tanh, lambda t: 1 / mp.cosh(t) ** 2)],
    "relu": [({}, lambda t: max(t, 0), lambda t: 1 if t > 0 else 0)],
    "leaky_relu": [({"negative_slope": g}, lambda t, g=g: t if t > 0 else g * t,
                    lambda t, g=g: 1 if t > 0 else g) for g in (0.01, 0.2)],
    "elu": [({"alpha": a}, lambda t, a=a: t if t > 0 else a * mp.expm1(t),
             lambda t, a=a: 1 if t > 0 else a * mp.exp(t)) for a in (1.0, 2.5)],
    "softplus": [({}, lambda t: mp.log1p(mp.exp(t)), _sig)],
    "swish": [({"beta": b}, lambda t, b=b: t * _sig(b * t),
               lambda t, b=b: _sig(b * t) + b * t * _sig(b * t) * _sig(-b * t))
              for b in (1.0, 2.0)],
    "gelu": [
        ({"approximate": "none"}, lambda t: t * _Phi(t), lambda t: _Phi(t) + t * _phi(t)),
        ({"approximate": "tanh"}, lambda t: t * _sig(_gelu_tanh_arg(t)),
         lambda t: _sig(_gelu_tanh_arg(t)) + 2 * t * _sig(_gelu_tanh_arg(t))
         * _sig(-_gelu_tanh_arg(t)) * _C * (1 + 3 * _K * t * t)),
        ({"approximate": "sigmoid"}, lambda t: t * _sig(_S * t),
         lambda t: _sig(_S * t) + _S * t * _sig(_S * t) * _sig(-_S * t)),
    ],
    "prelu": [({"gamma": g}, lambda t, g=g: t if t > 0 else g * t,
               lambda t, g=g: 1 if t > 0 else g) for g in (0.25, 3.0)],
}


def test_every_activation_has_a_reference() -> None:
    assert set(nn.ACTIVATIONS) == set(REFERENCES), (
        f"add a closed form to REFERENCES for {sorted(set(nn.ACTIVATIONS) - set(REFERENCES))}"
    )


def _reference(fn: Callable[[Any], Any], x: np.ndarray, dtype: type) -> np.ndarray:
    """fn at every entry of x (exact: x is a float of ``dtype``) at 50 digits, rounded to dtype."""
    return np.array([float(fn(mp.mpf(float(t)))) for t in x], dtype=np.float64).astype(dtype)


def _activation_cases() -> list[tuple[str, int, type]]:
    return [(name, i, dt) for name in sorted(REFERENCES) for i in range(len(REFERENCES[name]))
            for dt in DTYPES]


@pytest.mark.parametrize(("name", "variant", "dtype"), _activation_cases())
def test_activation_is_finite_and_exact_on_extreme_inputs(name: str, variant: int,
                                                          dtype: type) -> None:
    spec = nn.ACTIVATIONS[name]
    kwargs, f_ref, grad_ref = REFERENCES[name][variant]
    x = GRID.astype(dtype)
    args = (dtype(kwargs["gamma"]),) if spec.learnable else ()
    kw = {} if spec.learnable else kwargs
    with strict():
        y, g = spec.f(x, *args, **kw), spec.grad(x, *args, **kw)
    _finite(f"{name}{kwargs}", y, dtype)
    _finite(f"{name}_grad{kwargs}", g, dtype)
    rtol, atol = RTOL[dtype], ATOL[dtype]
    np.testing.assert_allclose(y, _reference(f_ref, x, dtype), rtol=rtol, atol=atol,
                               err_msg=f"{name}{kwargs} ({np.dtype(dtype).name})")
    np.testing.assert_allclose(g, _reference(grad_ref, x, dtype), rtol=rtol, atol=atol,
                               err_msg=f"{name}_grad{kwargs} ({np.dtype(dtype).name})")


@pytest.mark.parametrize(("name", "variant", "dtype"), _activation_cases())
def test_activation_layer_on_extreme_inputs(name: str, variant: int, dtype: type) -> None:
    """The layer's forward and backward equal the functional pair (checked above), finite."""
    spec = nn.ACTIVATIONS[name]
    kwargs = REFERENCES[name][variant][0]
    if spec.learnable:
        layer = spec.module(init=kwargs["gamma"], dtype=dtype)
        args: tuple[Any, ...] = (dtype(kwargs["gamma"]),)
        kw: dict[str, Any] = {}
    else:
        layer, args, kw = spec.module(**kwargs), (), kwargs
    x = GRID.astype(dtype)
    dout = np.linspace(-2.0, 2.0, x.size).astype(dtype)
    with strict():
        y = layer(x)
        dx = layer.backward(dout)
    _finite(f"{spec.module.__name__}.forward", y, dtype)
    _finite(f"{spec.module.__name__}.backward", dx, dtype)
    np.testing.assert_array_equal(y, spec.f(x, *args, **kw))
    np.testing.assert_array_equal(dx, dout * spec.grad(x, *args, **kw))
    for p in layer.parameters():
        _finite(f"{spec.module.__name__} parameter gradient", p.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_limits_are_exact(dtype: type) -> None:
    big = dtype(1e4)
    x = np.array([-big, big], dtype=dtype)
    with strict():
        assert F.sigmoid(x).tolist() == [0.0, 1.0]
        assert F.sigmoid_grad(x).tolist() == [0.0, 0.0]
        assert F.tanh(x).tolist() == [-1.0, 1.0]
        assert F.tanh_grad(x).tolist() == [0.0, 0.0]
        assert F.softplus(x).tolist() == [0.0, 1e4]
        assert F.softplus_grad(x).tolist() == [0.0, 1.0]
        assert F.elu(x, alpha=2.0).tolist() == [-2.0, 1e4]
        assert F.elu_grad(x, alpha=2.0).tolist() == [0.0, 1.0]
        assert F.swish(x).tolist() == [0.0, 1e4]
        assert F.swish_grad(x).tolist() == [0.0, 1.0]
        for mode in ("none", "tanh", "sigmoid"):
            assert F.gelu(x, approximate=mode).tolist() == [0.0, 1e4], mode
            assert F.gelu_grad(x, approximate=mode).tolist() == [0.0, 1.0], mode
    # the tails keep full relative accuracy instead of rounding to 0 (1 − tanh² would)
    assert F.tanh_grad(np.array([20.0], dtype=dtype))[0] == pytest.approx(4 * np.exp(-40.0),
                                                                          rel=1e-5)
    assert F.sigmoid_grad(np.array([50.0]))[0] == pytest.approx(np.exp(-50.0), rel=1e-12)
    assert F.tanh_grad(np.array(20.0, dtype=dtype)) == F.tanh_grad(np.array([20.0], dtype=dtype))[0]


# ---- softmax -----------------------------------------------------------------------------------

LOGITS = np.array([
    [1e4, -1e4, 0.0, 3.0],
    [-1e4, -1e4, -1e4, -1e4],
    [1e4, 1e4, -1e4, 9999.0],
    [-1e4, -9990.0, -1e4, -9995.0],
    [709.0, 710.0, -710.0, 88.0],
    [1e-30, 0.0, -1e-30, 1.0],
])


def _log_softmax_ref(row: np.ndarray) -> list[Any]:
    m = [mp.mpf(float(v)) for v in row]
    lse = mp.log(mp.fsum(mp.exp(v) for v in m))
    return [v - lse for v in m]


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_on_extreme_logits(dtype: type) -> None:
    z = LOGITS.astype(dtype)
    with strict():
        p, logp = F.softmax(z), F.log_softmax(z)
        pt, logpt = F.softmax(z.T, axis=0), F.log_softmax(z.T, axis=0)
    for name, a in (("softmax", p), ("log_softmax", logp), ("softmax axis 0", pt)):
        _finite(name, a, dtype)
    ref_log = np.array([[float(v) for v in _log_softmax_ref(r)] for r in z])
    ref_p = np.array([[float(mp.exp(v)) for v in _log_softmax_ref(r)] for r in z])
    rtol, atol = RTOL[dtype], ATOL[dtype]
    # log-probabilities of 1e4 in magnitude: relative error of the result itself
    np.testing.assert_allclose(logp, ref_log.astype(dtype), rtol=rtol, atol=atol)
    np.testing.assert_allclose(p, ref_p.astype(dtype), rtol=rtol, atol=atol)
    np.testing.assert_array_equal(pt, p.T)
    np.testing.assert_array_equal(logpt, logp.T)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=4 * np.finfo(dtype).eps)
    assert p[0, 1] == 0.0 and logp[0, 1] == dtype(-2e4)  # exp(−2e4) underflows, its log is exact


# ---- losses ------------------------------------------------------------------------------------

_Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [5e3, -0.5, -1e4], [-1e4, -1e4, -1e4]])
_Y01 = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
_LABELS = np.array([1, 0, 2, 1])
_SCORES = np.array([1e4, -1e4, 0.0, 1e4, -3e3, 0.5])
_YPM = np.array([-1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
_PROBS = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 1e-30], [1.0 - 1e-9, 1e-300, 0.25],
                   [0.0, 0.0, 1.0]])


def _torch(fn: Callable[..., Any], pred: np.ndarray, *args: Any) -> tuple[float, np.ndarray]:
    t = torch.tensor(pred.astype(np.float64), requires_grad=True)
    out = fn(t, *args)
    out.backward()
    return float(out.detach()), t.grad.numpy()


def _ref_bce_logits(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    n = z.shape[0]
    return _torch(lambda t: torch.nn.functional.binary_cross_entropy_with_logits(
        t, torch.tensor(y), reduction="sum") / n, z)


def _ref_ce(z: np.ndarray, y: np.ndarray, eps: float = 0.0) -> tuple[float, np.ndarray]:
    return _torch(lambda t: torch.nn.functional.cross_entropy(
        t, torch.tensor(y), label_smoothing=eps), z)


def _ref_logistic(s: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(1/N) Σ log(1 + exp(−y s)) and −y σ(−y s)/N at 50 digits."""
    n = s.size
    m = [mp.mpf(float(-a * b)) for a, b in zip(y, s, strict=True)]
    loss = mp.fsum(mp.log1p(mp.exp(v)) for v in m) / n
    grad = [float(-b * _sig(v) / n) for b, v in zip(y, m, strict=True)]
    return float(loss), np.array(grad)


def _ref_bce_probs(p: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The documented clipped form: q = clip(p, 1e-12, 1 − 1e-12), at 50 digits."""
    n = p.shape[0]
    lo, hi = mp.mpf("1e-12"), 1 - mp.mpf("1e-12")
    loss, grad = mp.mpf(0), np.empty(p.shape)
    for idx in np.ndindex(p.shape):
        q = min(max(mp.mpf(float(p[idx])), lo), hi)
        t = mp.mpf(float(y[idx]))
        loss -= t * mp.log(q) + (1 - t) * mp.log(1 - q)
        grad[idx] = float((q - t) / (q * (1 - q)) / n)
    return float(loss / n), grad


def _ref_squared(p: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    d = p.astype(np.float64) - y
    return 0.5 * float(np.sum(d * d)) / p.shape[0], d / p.shape[0]


def _ref_hinge(s: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    m = 1.0 - y * s.astype(np.float64)
    return float(np.maximum(m, 0.0).sum()) / s.size, -y * (m > 0) / s.size


# functional loss -> (pred, y, keyword arguments, reference(pred, y) -> (loss, grad))
LOSSES: dict[str, tuple[np.ndarray, np.ndarray, dict[str, Any], Callable[..., Any]]] = {
    "squared_loss": (_Z, -_Z[::-1], {}, _ref_squared),
    "hinge_loss": (_SCORES, _YPM, {}, _ref_hinge),
    "logistic_loss": (_SCORES, _YPM, {}, _ref_logistic),
    "binary_cross_entropy": (_PROBS, (_PROBS > 0.5) * 1.0, {}, _ref_bce_probs),
    "binary_cross_entropy_with_logits": (_Z, _Y01, {}, _ref_bce_logits),
    "softmax_cross_entropy": (_Z, _LABELS, {}, _ref_ce),
}
CLASSES = {
    "MSELoss": "squared_loss", "HingeLoss": "hinge_loss", "LogisticLoss": "logistic_loss",
    "BCELoss": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
    "CrossEntropyLoss": "softmax_cross_entropy",
}
USES_TORCH = {"binary_cross_entropy_with_logits", "softmax_cross_entropy"}


def test_every_loss_is_covered() -> None:
    assert set(L.__all__) == set(LOSSES) | set(CLASSES), (
        f"add to LOSSES / CLASSES: {sorted(set(L.__all__) - set(LOSSES) - set(CLASSES))}"
    )


def _loss_cases() -> list[Any]:
    cases = []
    for name in sorted(LOSSES) + sorted(CLASSES):
        base = CLASSES.get(name, name)
        marks = [requires_torch] if base in USES_TORCH else []
        cases += [pytest.param(name, dt, marks=marks, id=f"{name}-{np.dtype(dt).name}")
                  for dt in DTYPES]
    return cases


@pytest.mark.parametrize(("name", "dtype"), _loss_cases())
def test_loss_is_finite_and_exact_on_extreme_inputs(name: str, dtype: type) -> None:
    base = CLASSES.get(name, name)
    pred, y, kwargs, reference = LOSSES[base]
    p = pred.astype(dtype)
    with strict():
        if name in CLASSES:
            obj = getattr(L, name)(**kwargs)
            loss = obj(p, y)
            grad = obj.backward()
        else:
            loss, grad = getattr(L, name)(p, y, **kwargs)[:2]
    assert isinstance(loss, float) and np.isfinite(loss), f"{name}: loss {loss}"
    _finite(f"{name} gradient", grad, dtype)
    ref_loss, ref_grad = reference(p.astype(np.float64), y)
    rtol = RTOL[dtype] if dtype is np.float64 else 1e-6
    assert loss == pytest.approx(ref_loss, rel=1e-12 if dtype is np.float64 else 1e-6)
    np.testing.assert_allclose(grad, ref_grad.astype(dtype), rtol=rtol, atol=ATOL[dtype])


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.1, 1.0])
def test_label_smoothing_on_extreme_logits(dtype: type, eps: float) -> None:
    z = _Z.astype(dtype)
    with strict():
        loss, grad = L.softmax_cross_entropy(z, _LABELS, label_smoothing=eps)
    _finite("softmax_cross_entropy gradient", grad, dtype)
    ref_loss, ref_grad = _ref_ce(z.astype(np.float64), _LABELS, eps)
    assert loss == pytest.approx(ref_loss, rel=1e-12 if dtype is np.float64 else 1e-6)
    np.testing.assert_allclose(grad, ref_grad.astype(dtype), rtol=RTOL[dtype], atol=1e-30)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_of_sequences_on_extreme_logits(dtype: type) -> None:
    """(N, T, C) logits with padding, as a language model's: finite, equal to PyTorch's."""
    z = np.stack([_Z, -_Z[::-1]], axis=1).astype(dtype)  # (4, 2, 3)
    y = np.array([[1, 0], [0, -100], [2, 2], [-100, 1]])
    with strict():
        loss, grad = L.softmax_cross_entropy(z, y)
    _finite("softmax_cross_entropy gradient", grad, dtype)
    ref_loss, ref_grad = _torch(lambda t: torch.nn.functional.cross_entropy(
        t.permute(0, 2, 1), torch.tensor(y)), z.astype(np.float64))
    assert loss == pytest.approx(ref_loss, rel=1e-12 if dtype is np.float64 else 1e-6)
    np.testing.assert_allclose(grad, ref_grad.astype(dtype), rtol=RTOL[dtype], atol=1e-30)


# ---- normalisation layers ----------------------------------------------------------------------

def _extreme_images(dtype: type) -> np.ndarray:
    """(4, 3, 3, 5): channel 0 spans ±1e4, channel 1 is constant 1e4 (zero variance), channel 2
    mixes 1e4 with values of order 1e-3."""
    rng = np.random.default_rng(15)
    x = rng.uniform(-1e4, 1e4, size=(4, 3, 3, 5))
    x[:, 1] = 1e4
    x[:, 2] = rng.standard_normal((4, 3, 5)) * 1e-3
    x[0, 2, 0, 0] = -1e4
    return x.astype(dtype)


def _norm_cases() -> list[tuple[str, Callable[..., Any], Callable[[np.ndarray], np.ndarray]]]:
    return [
        ("BatchNorm1d (N, C)", lambda dt: nn.BatchNorm1d(3, dtype=dt),
         lambda x: x[:, :, 0, 0]),
        ("BatchNorm1d (N, C, L)", lambda dt: nn.BatchNorm1d(3, dtype=dt), lambda x: x[:, :, 0]),
        ("BatchNorm2d", lambda dt: nn.BatchNorm2d(3, dtype=dt), lambda x: x),
        ("LayerNorm (W,)", lambda dt: nn.LayerNorm(5, dtype=dt), lambda x: x),
        ("LayerNorm (C, H, W)", lambda dt: nn.LayerNorm((3, 3, 5), dtype=dt), lambda x: x),
        ("LocalResponseNorm", lambda dt: nn.LocalResponseNorm(3), lambda x: x),
        ("LocalResponseNorm AlexNet", lambda dt: nn.LocalResponseNorm(5, 5e-4, 0.75, 2.0),
         lambda x: x),
    ]


def _torch_twin(layer: nn.Module) -> Any:
    if isinstance(layer, nn.LocalResponseNorm):
        return torch.nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
    if isinstance(layer, nn.LayerNorm):
        t = torch.nn.LayerNorm(layer.normalized_shape, eps=layer.eps, dtype=torch.float64)
    else:
        cls = torch.nn.BatchNorm2d if isinstance(layer, nn.BatchNorm2d) else torch.nn.BatchNorm1d
        t = cls(layer.num_features, eps=layer.eps, momentum=layer.momentum, dtype=torch.float64)
        t.running_mean.copy_(torch.tensor(layer.running_mean.astype(np.float64)))
        t.running_var.copy_(torch.tensor(layer.running_var.astype(np.float64)))
    with torch.no_grad():
        t.weight.copy_(torch.tensor(layer.gamma.data.astype(np.float64)))
        t.bias.copy_(torch.tensor(layer.beta.data.astype(np.float64)))
    return t


@requires_torch
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(_norm_cases())),
                         ids=[c[0] for c in _norm_cases()])
def test_normalisation_on_extreme_inputs(case: int, dtype: type, mode: str) -> None:
    _, make, view = _norm_cases()[case]
    layer = make(dtype)
    x = np.ascontiguousarray(view(_extreme_images(dtype)))
    if layer.parameters():
        rng = np.random.default_rng(3)
        layer.gamma.data[:] = rng.uniform(0.5, 2.0, layer.gamma.shape)
        layer.beta.data[:] = rng.uniform(-1e4, 1e4, layer.beta.shape)
    if mode == "eval" and hasattr(layer, "running_var"):
        with strict():
            layer(x * dtype(0.5))  # running estimates of order 1e4 and 1e7
        layer.clear_cache()
    twin = _torch_twin(layer)
    getattr(layer, mode)()
    getattr(twin, mode)()
    dout = np.random.default_rng(4).uniform(-1e4, 1e4, x.shape).astype(dtype)
    with strict():
        y = layer(x)
        dx = layer.backward(dout)
    name = f"{type(layer).__name__} ({mode})"
    _finite(f"{name} forward", y, dtype)
    _finite(f"{name} backward", dx, dtype)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    yt = twin(xt)
    yt.backward(torch.tensor(dout.astype(np.float64)))
    # errors relative to each array's scale: the float32 inputs are exact in float64, and a
    # float32 computation carries ~1e-7 of the largest magnitude involved. PyTorch's float64
    # LayerNorm takes the variance in one pass: on these rows its γ gradient is 1e-10 of the
    # scale off (the package's two-pass one agrees with a 40-digit evaluation to 3e-16)
    tol = 1e-8 if dtype is np.float64 else 1e-4
    for what, ours, ref in [("y", y, yt.detach().numpy()), ("dx", dx, xt.grad.numpy())]:
        scale = max(np.abs(ref).max(), 1e-300)
        np.testing.assert_allclose(ours / scale, ref / scale, rtol=0, atol=tol,
                                   err_msg=f"{name}: {what}")
    twin_params = [twin.weight, twin.bias] if layer.parameters() else []
    for p, tp in zip(layer.parameters(), twin_params, strict=True):
        _finite(f"{name} parameter gradient", p.grad, p.data.dtype)
        ref = tp.grad.numpy()
        scale = max(np.abs(ref).max(), 1e-300)
        np.testing.assert_allclose(p.grad / scale, ref / scale, rtol=0, atol=tol,
                                   err_msg=f"{name}: parameter gradient")
