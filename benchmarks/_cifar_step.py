"""One training step of the chapter's CIFAR-10 network, dlcourse against PyTorch (for bench_conv).

The step is what ``benchmarks/cifar10_cnn.py`` repeats 391 times per epoch: forward through
``CifarNet``, softmax cross-entropy, backward (no input gradient), and an SGD update with
Nesterov momentum and weight decay. The torch network is built layer by layer from the same
weights and checked to give the same logits and loss before anything is timed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse.losses import CrossEntropyLoss
from dlcourse.models import CifarNet
from dlcourse.optim import SGD

SGD_ARGS = dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)


def torch_twin(torch: Any, model: CifarNet) -> Any:
    """``model`` rebuilt with ``torch.nn`` layers and the same weights (train mode)."""
    nn = torch.nn
    layers = []
    for m in model:
        kind = type(m).__name__
        if kind == "Conv2d":
            t = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                          padding=m.padding, bias=m.b is not None)
            t.weight.data = torch.from_numpy(m.W.data.copy())
        elif kind == "BatchNorm2d":
            t = nn.BatchNorm2d(m.num_features, eps=m.eps, momentum=m.momentum)
        elif kind == "Linear":
            t = nn.Linear(m.in_features, m.out_features)
            t.weight.data = torch.from_numpy(m.W.data.T.copy())
            t.bias.data = torch.from_numpy(m.b.data.copy())
        elif kind == "MaxPool2d":
            t = nn.MaxPool2d(m.kernel_size, m.stride, m.padding)
        else:
            t = {"ReLU": nn.ReLU, "Flatten": nn.Flatten}[kind]()
        layers.append(t)
    return nn.Sequential(*layers).train()


def cifar_step_cases(torch: Any, batch: int, rng: np.random.Generator,
                     seed: int) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """``{"CifarNet train step (B=...)": (dlcourse step, torch step)}`` after an agreement check."""
    model = CifarNet(rng=seed, dtype=np.float32)
    twin = torch_twin(torch, model)
    x = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss = CrossEntropyLoss()
    opt = SGD(model.parameters(), **SGD_ARGS)
    opt_t = torch.optim.SGD(twin.parameters(), **SGD_ARGS)
    F_ = torch.nn.functional

    ours_logits = model(x)
    model.clear_cache()
    with torch.no_grad():
        ref_logits = twin(xt).numpy()
    scale = float(np.abs(ref_logits).max())
    np.testing.assert_allclose(ours_logits, ref_logits, rtol=1e-3, atol=1e-4 * scale)
    assert ours_logits.dtype == np.float32

    def ours() -> object:
        value = loss(model(x), y)
        model.backward(loss.backward(), need_dx=False)
        opt.step()
        opt.zero_grad()
        return value

    def ref() -> object:
        opt_t.zero_grad()
        value = F_.cross_entropy(twin(xt), yt)
        value.backward()
        opt_t.step()
        return value

    first_ours, first_ref = float(ours()), float(ref().item())
    assert abs(first_ours - first_ref) <= 1e-4 * max(1.0, abs(first_ref)), (first_ours, first_ref)
    return {f"CifarNet train step (B={batch})": (ours, ref)}
