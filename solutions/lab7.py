"""Lab 7 (outline lesson 7), part 1: what a CNN looks at — gradient saliency maps (chapter 4).

You write:

1. ``class_score_gradient(model, x, target)`` — the gradient ∂s_c/∂x of each image's class
   score s_c (the logit of class c, *before* the softmax) with respect to the image's pixels,
   through the model's own ``backward`` (exercise ``lab7.score_gradient``);
2. ``saliency_map(model, x, target)`` — Simonyan et al. (2014): for each pixel, the largest
   |∂s_c/∂x| over the colour channels (exercise ``lab7.saliency``).

The model is a trained ``dlcourse.nn.Sequential`` (it may contain ``BatchNorm2d`` and
``Dropout``). The map must explain the prediction the model makes at test time, so run the
model in eval mode (running statistics, no dropout), and leave the model in the mode you found
it in. Back-propagating into the logits with a one-hot ``dout`` (1 at [n, c_n], 0 elsewhere)
gives every image's own ∂s_c/∂x in one pass: image n's score depends on image n only (in eval
mode). Never modify an array you are given.

The parts on GANs and DQN come with chapters 6 and 7. While an exercise is graded, the
package's ``dlcourse.viz.saliency_map`` raises "implement this yourself" when your code calls it.

Grade your work with ``dlcourse grade lab7``.
"""

from __future__ import annotations

import numpy as np

from dlcourse.nn import Module

__all__ = ["class_score_gradient", "saliency_map"]


def class_score_gradient(model: Module, x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """∂s_c/∂x for every image, the model in eval mode.

    Args:
        model: maps x (N, C, H, W) to logits (N, K) and has ``backward(dout) -> dx``.
        x: (N, C, H, W) images.
        target: (N,) ints, the class c_n whose score is explained for image n.

    Returns:
        (N, C, H, W): element [n, ...] is ∂s_{c_n}(x_n)/∂x_n. The model is back in the mode
        (train or eval) it was in.
    """
    # BEGIN SOLUTION lab7.score_gradient
    was_training = model.training
    model.eval()
    try:
        scores = model(x)
        dscores = np.zeros_like(scores)
        dscores[np.arange(len(x)), target] = 1.0
        return model.backward(dscores)
    finally:
        model.train(was_training)
    # END SOLUTION


def saliency_map(model: Module, x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Saliency maps: max over channels of |∂s_c/∂x|.

    Args and model modes as :func:`class_score_gradient`.

    Returns:
        (N, H, W), values >= 0.
    """
    # BEGIN SOLUTION lab7.saliency
    return np.abs(class_score_gradient(model, x, target)).max(axis=1)
    # END SOLUTION
