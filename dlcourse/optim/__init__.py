"""Optimisers: update rules that move parameters against their gradients (chapter 3).

The contract (every optimiser follows it)::

    opt = Adam(model.parameters(), lr=1e-3)   # params: non-empty list of Parameter
    for x, y in batches:
        opt.zero_grad()                        # Parameter.grad <- 0 for every parameter
        loss = L(model(x), y)
        model.backward(L.backward())           # accumulates Parameter.grad
        opt.step()                             # updates Parameter.data in place

- ``step()`` reads ``p.grad`` and updates ``p.data`` **in place** (the array object is kept, so
  a model and its optimiser always share it); the dtype is kept (float32 stays float32:
  hyper-parameters are Python floats, which never promote an array).
- ``step(closure)`` also accepts a closure that zeroes the gradients, runs forward and backward
  and returns the loss; it is called first and ``step`` returns its value (as in
  ``torch.optim``). ``RMSProp(nesterov=True)`` requires one: it takes the gradient at an
  interim point (algorithm 5.4).
- Per-parameter state (e.g. Adam's moments) lives in the optimiser, ``opt.state[i]`` for
  ``opt.params[i]``, never on the parameter.
- ``opt.t`` counts the steps taken. ``opt.schedule`` (default None) is an optional callable
  ``lr_at(step) -> float`` (:mod:`dlcourse.optim.schedules`): at each ``step()``, before the
  update, ``opt.lr = lr_at(opt.t)`` with ``opt.t`` the number of steps taken so far (0 for the
  first step), so ``opt.lr`` always shows the learning rate used by the latest update.
  ``opt.base_lr`` keeps the constructor's ``lr``.
- ``state_dict()`` returns the hyper-parameters, ``t`` and copies of the per-parameter state;
  ``load_state_dict(sd)`` restores them (same parameters, same order).
- A frozen parameter (``p.requires_grad`` False) is skipped: no update, no weight decay, no
  change to its state, as in PyTorch where a parameter without a gradient is skipped.
- Weight decay ``λ`` is added to the gradient, ``g <- g + λθ`` (the L2 penalty ½λ‖θ‖² of the
  notes), as every ``torch.optim`` counterpart does with ``weight_decay``.

The rules: :class:`SGD` (alg. 5.1; momentum (5.40), dampening, Nesterov), :class:`AdaGrad`
(alg. 5.2), :class:`RMSProp` (alg. 5.3; with momentum, and Nesterov momentum as alg. 5.4),
:class:`AdaDelta`, :class:`Adam` (alg. 5.5). Each agrees with its ``torch.optim`` counterpart
step for step (``tests/optim``). Gradient clipping: :func:`clip_grad_norm`,
:func:`clip_grad_value`. Learning-rate schedules: :mod:`dlcourse.optim.schedules`.
"""

from __future__ import annotations

from dlcourse.optim import schedules
from dlcourse.optim.adam import Adam
from dlcourse.optim.adaptive import AdaDelta, AdaGrad, RMSProp
from dlcourse.optim.base import Optimizer
from dlcourse.optim.clip import clip_grad_norm, clip_grad_value
from dlcourse.optim.sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "AdaGrad",
    "RMSProp",
    "AdaDelta",
    "Adam",
    "clip_grad_norm",
    "clip_grad_value",
    "schedules",
]
