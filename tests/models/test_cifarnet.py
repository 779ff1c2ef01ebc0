"""CifarNet: layer structure, counts in closed form, gradients, dtype, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import nn
from dlcourse.gradcheck import numerical_gradient, relative_error
from dlcourse.models import CifarNet


def test_structure_and_parameter_count() -> None:
    model = CifarNet()
    kinds = [type(m).__name__ for m in model]
    assert kinds.count("Conv2d") == 5 and kinds.count("BatchNorm2d") == 5
    assert [m.kernel_size for m in model if isinstance(m, nn.MaxPool2d)] == [(2, 2)] * 3 + [(4, 4)]
    assert all(m.b is None for m in model if isinstance(m, nn.Conv2d))  # BN cancels a bias
    w = [3, 32, 64, 128, 256, 256]
    convs = sum(9 * a * b for a, b in zip(w[:-1], w[1:], strict=True))
    bns = 2 * sum(w[1:])
    assert sum(p.data.size for p in model.parameters()) == convs + bns + 256 * 10 + 10 == 981_802


def test_shapes_and_float32() -> None:
    model = CifarNet((4, 8, 8, 16), rng=0)
    x = np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32)
    out = model(x)
    assert out.shape == (3, 10) and out.dtype == np.float32
    dx = model.backward(np.ones_like(out))
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert all(p.data.dtype == np.float32 for p in model.parameters())


def test_gradients_match_finite_differences_in_float64() -> None:
    rng = np.random.default_rng(1)
    model = CifarNet((2, 3, 3, 4), num_classes=3, rng=1, dtype=np.float64)
    x = rng.standard_normal((2, 3, 32, 32))
    dout = rng.standard_normal((2, 3))
    model.train()

    def f() -> float:
        out = float((model(x) * dout).sum())
        model.clear_cache()
        return out

    model(x)
    dx = model.backward(dout)
    for name, p in (("linear W", model[-1].W), ("first conv W", model[0].W),
                    ("last BN gamma", model[-5].gamma)):
        num = numerical_gradient(lambda _: f(), p.data, inplace=True)
        assert relative_error(p.grad, num) < 1e-6, name
    eps = 1e-6
    for idx in [tuple(int(rng.integers(0, n)) for n in x.shape) for _ in range(12)]:
        old = x[idx]
        x[idx] = old + eps
        up = f()
        x[idx] = old - eps
        down = f()
        x[idx] = old
        num = (up - down) / (2 * eps)
        assert abs(dx[idx] - num) <= 1e-6 * max(1.0, abs(num)), (idx, dx[idx], num)


@pytest.mark.parametrize(("kwargs", "err", "match"), [
    (dict(widths=(8, 8, 8)), ValueError, "widths: expected four channel counts"),
    (dict(widths=(8, 8, 0, 8)), ValueError, r"widths\[2\]"),
    (dict(num_classes=0), ValueError, "num_classes"),
])
def test_bad_arguments(kwargs: dict, err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        CifarNet(**kwargs)
