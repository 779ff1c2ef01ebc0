"""What a trained CNN looks at (chapter 4, outline lesson 7): filters, feature maps, saliency.

Three views, computed with the model's own forward and backward (numpy only; draw the arrays
with :func:`dlcourse.plot.show_images`):

- :func:`filter_images`: a convolution's kernels W (F, C, kh, kw) as F small pictures, each
  scaled to [0, 1] on its own (RGB when C = 3), so the first layer's edge and colour detectors
  become visible.
- :func:`feature_maps`: the output of one layer of a ``Sequential`` for an input, i.e. the
  activations a⁽ˡ⁾ (N, C, H, W) of that layer's channels, computed in eval mode.
- :func:`saliency_map`: Simonyan et al. (2014): the gradient of the class score s_c (the logit,
  before the softmax) with respect to the input pixels, ∂s_c/∂x, through ``model.backward``;
  the map is max over channels of |∂s_c/∂x|. Pixels where a small change moves the score most
  are bright.

Every function puts the model back into the mode it was in and leaves its parameters'
gradients untouched (the saliency freezes them for its backward pass).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse._validate import as_float_array, check_ndim
from dlcourse.nn.container import Sequential
from dlcourse.nn.grad_mode import no_grad
from dlcourse.nn.module import Module

__all__ = ["feature_maps", "filter_images", "saliency_map"]


def _scale01(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``a`` shifted and scaled to [0, 1] over ``axes`` (constant slices become 0.5)."""
    lo = a.min(axis=axes, keepdims=True)
    span = a.max(axis=axes, keepdims=True) - lo
    return np.where(span > 0, (a - lo) / np.where(span > 0, span, 1.0), 0.5)


def filter_images(W: object) -> np.ndarray:
    """The kernels of a convolution as pictures, each scaled to [0, 1] on its own.

    Args:
        W: (F, C, kh, kw) weights, e.g. ``model[0].W.data``; a ``Parameter`` is accepted.

    Returns:
        (F, kh, kw, 3) RGB pictures when C = 3 (channel order R, G, B), otherwise (F·C, kh, kw)
        grey pictures (filter f's channel c at index f·C + c).
    """
    W = as_float_array("W", getattr(W, "data", W))
    check_ndim("W", W, 4, "(out_channels, in_channels, kh, kw)")
    F, C, kh, kw = W.shape
    if C == 3:
        return _scale01(W, (1, 2, 3)).transpose(0, 2, 3, 1)
    return _scale01(W.reshape(F * C, kh, kw), (1, 2))


def _check_model(model: object) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"model: expected a dlcourse.nn.Sequential, got {type(model).__name__}")
    return model


def _layer_index(model: Sequential, layer: int | Module) -> int:
    mods = list(model)
    if isinstance(layer, Module):
        for i, m in enumerate(mods):
            if m is layer:
                return i
        raise ValueError(f"layer: expected one of the model's {len(mods)} children, got "
                         f"{type(layer).__name__} that is not among them")
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise TypeError(f"layer: expected an int index or a child Module, got "
                        f"{type(layer).__name__}")
    if not -len(mods) <= layer < len(mods):
        raise ValueError(f"layer: expected an index in [{-len(mods)}, {len(mods)}), got {layer}")
    return int(layer) % len(mods)


def feature_maps(model: Sequential, x: object, layer: int | Module) -> np.ndarray:
    """The output of ``model``'s child ``layer`` for the input ``x`` (eval mode, no caches).

    Args:
        model: a ``Sequential`` (e.g. :class:`dlcourse.models.CifarNet`).
        x: the model's input, e.g. (N, 3, 32, 32) images (cast to the model's dtype by the
            layers).
        layer: the child's index in ``model`` (negative counts from the end) or the child
            module itself.

    Returns:
        The activations after that child, e.g. (N, C, H, W) for a convolution's ReLU.
    """
    model = _check_model(model)
    stop = _layer_index(model, layer)
    x = as_float_array("x", x)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out: Any = x
            for m in list(model)[: stop + 1]:
                out = m(out)
    finally:
        model.train(was_training)
    return np.asarray(out)


def saliency_map(model: Module, x: object, target: object, *,
                 return_gradient: bool = False) -> np.ndarray:
    """Saliency of the class score: max over channels of |∂s_c/∂x| (module docstring).

    Args:
        model: a module mapping x (N, C, H, W) to logits (N, K), with ``backward``.
        x: (N, C, H, W) input images.
        target: the class c per image: an int for all, or (N,) ints in [0, K).
        return_gradient: return the raw gradient ∂s_c/∂x (N, C, H, W) instead of the map.

    Returns:
        (N, H, W) saliency maps (>= 0), or the gradient (N, C, H, W) if ``return_gradient``.

    The forward pass runs in eval mode (BatchNorm uses its running statistics, Dropout is the
    identity), so the map explains the prediction the model actually makes; the parameters are
    frozen during the backward pass (their ``grad`` is left as it was).
    """
    if not isinstance(model, Module):
        raise TypeError(f"model: expected a dlcourse.nn.Module, got {type(model).__name__}")
    x = as_float_array("x", x)
    check_ndim("x", x, 4, "(N, C, H, W)")
    N = x.shape[0]
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.ndim > 1:
        raise TypeError(f"target: expected an int or (N,) ints, got {target!r}")
    t = np.broadcast_to(t, (N,)) if t.ndim == 0 else t
    if t.shape != (N,):
        raise ValueError(f"target: expected {N} class indices (one per image), got shape {t.shape}")
    params = model.parameters()
    flags = [p.requires_grad for p in params]
    was_training = model.training
    model.eval()
    try:
        for p in params:
            p.requires_grad = False
        scores = np.asarray(model(x))
        if scores.ndim != 2 or scores.shape[0] != N:
            raise ValueError(f"model: expected logits of shape ({N}, K), got {scores.shape}")
        if t.min(initial=0) < 0 or t.max(initial=0) >= scores.shape[1]:
            raise ValueError(f"target: expected classes in [0, {scores.shape[1]}), got "
                             f"{t.min()}..{t.max()}")
        dscores = np.zeros_like(scores)
        dscores[np.arange(N), t] = 1.0  # ∂s_c/∂scores: one-hot per image
        grad = np.asarray(model.backward(dscores))
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad = flag
        model.clear_cache()
        model.train(was_training)
    return grad if return_gradient else np.abs(grad).max(axis=1)
