# Mutants of lab 7's visualisation part (read by tests/grading/test_gates.py, gate 4).
MUTANTS = [
    # training mode: BatchNorm normalises with the batch's statistics, Dropout drops units
    ("lab7.score_gradient", "lab7.py",
     [("    model.eval()\n    try:\n        scores", "    try:\n        scores")],
     r"class_score_gradient: relative error .* in eval mode"),
    # the gradient of the softmax probability instead of the logit
    ("lab7.score_gradient", "lab7.py",
     [("        dscores = np.zeros_like(scores)\n"
       "        dscores[np.arange(len(x)), target] = 1.0\n",
       "        e = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
       "        p = e / e.sum(axis=1, keepdims=True)\n"
       "        onehot = np.zeros_like(scores)\n"
       "        onehot[np.arange(len(x)), target] = 1.0\n"
       "        pc = p[np.arange(len(x)), target][:, None]\n"
       "        dscores = pc * (onehot - p)\n")],
     r"class_score_gradient: relative error .*not of the softmax"),
    # forgets to switch the model back
    ("lab7.score_gradient", "lab7.py",
     [("        model.train(was_training)\n", "        pass\n")],
     r"model.training after class_score_gradient: expected True, got False"),
    # calls the package's answer
    ("lab7.score_gradient", "lab7.py",
     [("        scores = model(x)\n",
       "        from dlcourse.viz import saliency_map as reference\n\n"
       "        return reference(model, x, target, return_gradient=True)\n")],
     r"may not call dlcourse\.viz\.saliency_map$"),
    # signed gradient instead of its magnitude
    ("lab7.saliency", "lab7.py",
     [("return np.abs(class_score_gradient(model, x, target)).max(axis=1)",
       "return class_score_gradient(model, x, target).max(axis=1)")],
     r"saliency_map: relative error .*max over the channel axis"),
    # sums the channels
    ("lab7.saliency", "lab7.py",
     [("return np.abs(class_score_gradient(model, x, target)).max(axis=1)",
       "return np.abs(class_score_gradient(model, x, target)).sum(axis=1)")],
     r"saliency_map: relative error"),
    # calls the package's answer
    ("lab7.saliency", "lab7.py",
     [("    return np.abs(class_score_gradient(model, x, target)).max(axis=1)\n",
       "    from dlcourse.viz import saliency_map as reference\n\n"
       "    return reference(model, x, target)\n")],
     r"may not call dlcourse\.viz\.saliency_map$"),
]
