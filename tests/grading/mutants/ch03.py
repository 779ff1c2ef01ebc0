# Mutants of chapter 3's exercises (read by tests/grading/test_gates.py, gate 4).
MUTANTS = [
    # 7-1: the residual's sign flipped (the gradient of ½(y − x·w)² taken as (y − x·w)·x)
    ("ch03.sample_gradients", "ch03.py",
     [("    residual = X @ w - y  # (N,)\n", "    residual = y - X @ w  # (N,)\n")],
     r"per_sample_gradients: row 0: relative error"),
    # 7-1: each sample's gradient divided by N, as if it were the mean loss
    ("ch03.sample_gradients", "ch03.py",
     [("    return residual[:, None] * X\n", "    return residual[:, None] * X / len(X)\n")],
     r"per_sample_gradients: row 0: relative error"),
    # 7-1: batches drawn without replacement (the variance shrinks by (N − B)/(N − 1))
    ("ch03.grad_variance", "ch03.py",
     [("    idx = rng.integers(0, N, size=(trials, batch_size))  # with replacement\n",
       "    idx = np.array([rng.choice(N, batch_size, replace=False) for _ in range(trials)])\n")],
     r"minibatch_gradient_variance\(B=(5|10|20), trials=4000\): expected about σ²/B"),
    # 7-1: the variance per coordinate (mean over D) instead of the total
    ("ch03.grad_variance", "ch03.py",
     [("    return float(np.mean(np.sum((g_batch - g_full) ** 2, axis=1)))\n",
       "    return float(np.mean((g_batch - g_full) ** 2))\n")],
     r"minibatch_gradient_variance\(B=1, trials=4000\): expected about σ²/B"),
    # 7-1: the batch's gradients summed instead of averaged
    ("ch03.grad_variance", "ch03.py",
     [("    g_batch = G[idx].mean(axis=1)  # (trials, D)\n",
       "    g_batch = G[idx].sum(axis=1)  # (trials, D)\n")],
     r"minibatch_gradient_variance\(B=2, trials=4000\): expected about σ²/B"),
    # 7-1: the law typed in instead of measured
    ("ch03.grad_variance", "ch03.py",
     [("    return float(np.mean(np.sum((g_batch - g_full) ** 2, axis=1)))\n",
       "    return float(np.mean(np.sum((G - g_full) ** 2, axis=1)) / batch_size)\n")],
     r"minibatch_gradient_variance\(B=1, trials=1\): expected ‖g_n − ḡ‖²"),
    # gradient of xᵀAx instead of ½xᵀAx
    ("ch03.gd_2d", "ch03.py",
     [("        path.append(path[-1] - lr * (A @ path[-1]))\n",
       "        path.append(path[-1] - lr * (2 * A @ path[-1]))\n")],
     r"gd_quadratic A = diag\(2\.0, 4\.0\), lr 0\.1: epoch 20"),
    # the start left out of the trajectory
    ("ch03.gd_2d", "ch03.py",
     [("    return np.array(path)\n    # END SOLUTION\n\n\ndef max_stable_lr",
       "    return np.array(path[1:])\n    # END SOLUTION\n\n\ndef max_stable_lr")],
     r"gd_quadratic\(lr=0\.1\): expected shape \(21, 2\), got \(20, 2\)"),
    # 1/λ_max: the step that is optimal along one eigenvector, not the stability bound
    ("ch03.max_lr", "ch03.py",
     [("    return 2.0 * (1.0 + momentum) / lam_max\n",
       "    return (1.0 + momentum) / lam_max\n")],
     r"max_stable_lr for f = 0\.1 x1² \+ 2 x2²: expected 0\.5, got 0\.25"),
    # the largest diagonal entry taken for λ_max (right only for a diagonal A)
    ("ch03.max_lr", "ch03.py",
     [("    lam_max = float(np.linalg.eigvalsh(A).max())\n",
       "    lam_max = float(np.diag(A).max())\n")],
     r"max_stable_lr \(eigenvalues \[0\.3, 2\.0\], momentum 0\.0\)"),
    # momentum ignored
    ("ch03.max_lr", "ch03.py",
     [("    return 2.0 * (1.0 + momentum) / lam_max\n", "    return 2.0 / lam_max\n")],
     r"max_stable_lr \(eigenvalues \[0\.3, 2\.0\], momentum 0\.5\)"),
    # the outline's dampened form v = ρv + (1 − ρ)g, x −= lr·v (a smaller effective rate)
    ("ch03.heavy_ball", "ch03.py",
     [("        dx = momentum * dx - lr * (A @ x)\n",
       "        dx = momentum * dx - (1 - momentum) * lr * (A @ x)\n")],
     r"heavy_ball lr 0\.4, momentum 0\.5: epoch 20"),
    # calls the package's SGD
    ("ch03.heavy_ball", "ch03.py",
     [("    x, dx = x0.copy(), np.zeros_like(x0)\n    path = [x]\n"
       "    for _ in range(steps):\n        dx = momentum * dx - lr * (A @ x)\n"
       "        x = x + dx\n        path.append(x)\n    return np.array(path)\n",
       "    from dlcourse.nn import Parameter\n    from dlcourse.optim import SGD\n\n"
       "    p = Parameter(x0.copy())\n    opt = SGD([p], lr=lr, momentum=momentum)\n"
       "    path = [x0.copy()]\n    for _ in range(steps):\n        p.grad[...] = A @ p.data\n"
       "        opt.step()\n        path.append(p.data.copy())\n    return np.array(path)\n")],
     r"may not call dlcourse\.optim\.SGD$"),
    # only the first root's modulus |b| (forgets ρ's second root)
    ("ch03.momentum_rate", "ch03.py",
     [("    return float(np.abs(np.linalg.eigvals(T)).max())\n",
       "    return float(abs(T[0, 0]))\n")],
     r"momentum_rate\(lam=4\.0, lr=0\.6, momentum=0\.5\)"),
    # momentum ignored: the plain gradient-descent factor
    ("ch03.momentum_rate", "ch03.py",
     [("    return float(np.abs(np.linalg.eigvals(T)).max())\n",
       "    return float(abs(1.0 - lr * lam))\n")],
     r"momentum_rate\(lam=4\.0, lr=0\.6, momentum=0\.5\)"),
    # no bias correction
    ("ch03.adam_step", "ch03.py",
     [("    M_hat = M / (1.0 - beta1**t)\n    G_hat = G / (1.0 - beta2**t)\n",
       "    M_hat = M\n    G_hat = G\n")],
     r"adam_step .*: theta after step 1"),
    # ε inside the square root (the notes' box, (5.45))
    ("ch03.adam_step", "ch03.py",
     [("    return theta - lr * M_hat / (np.sqrt(G_hat) + eps), M, G\n",
       "    return theta - lr * M_hat / np.sqrt(G_hat + eps), M, G\n")],
     r"adam_step .*: theta after step 1"),
    # the notes' experiment code: t advanced twice per step
    ("ch03.adam_step", "ch03.py",
     [("    M_hat = M / (1.0 - beta1**t)\n    G_hat = G / (1.0 - beta2**t)\n",
       "    M_hat = M / (1.0 - beta1 ** (2 * t))\n    G_hat = G / (1.0 - beta2 ** (2 * t))\n")],
     r"adam_step .*: theta after step 1"),
    # the moments updated in place: the caller's M and G change
    ("ch03.adam_step", "ch03.py",
     [("    M = beta1 * M + (1.0 - beta1) * grad\n"
       "    G = beta2 * G + (1.0 - beta2) * grad * grad\n",
       "    M = np.asarray(M)\n    M *= beta1\n    M += (1.0 - beta1) * grad\n"
       "    G = np.asarray(G)\n    G *= beta2\n    G += (1.0 - beta2) * grad * grad\n")],
     r"adam_step modified its input M"),
    # calls the package's Adam
    ("ch03.adam_step", "ch03.py",
     [("    M = beta1 * M + (1.0 - beta1) * grad\n",
       "    from dlcourse.nn import Parameter\n    from dlcourse.optim import Adam\n\n"
       "    p = Parameter(theta.copy())\n    Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)\n"
       "    M = beta1 * M + (1.0 - beta1) * grad\n")],
     r"may not call dlcourse\.optim\.Adam$"),
    # the unbiased variance (1/(N − 1))
    ("ch03.bn_forward", "ch03.py",
     [("    var = np.mean((z - mu) ** 2, axis=0)\n    return (z - mu) / np.sqrt(var + eps) * gamma",
       "    var = np.var(z, axis=0, ddof=1)\n    return (z - mu) / np.sqrt(var + eps) * gamma")],
     r"batch_norm_forward \(N=8, eps=1e-05\)"),
    # statistics over the features of each sample (layer normalisation)
    ("ch03.bn_forward", "ch03.py",
     [("    mu = z.mean(axis=0)\n    var = np.mean((z - mu) ** 2, axis=0)\n    return (z - mu)",
       "    mu = z.mean(axis=1, keepdims=True)\n    var = np.mean((z - mu) ** 2, axis=1, "
       "keepdims=True)\n    return (z - mu)")],
     r"batch_norm_forward \(N=8, eps=1e-05\)"),
    # calls the package's BatchNorm1d
    ("ch03.bn_forward", "ch03.py",
     [("    return (z - mu) / np.sqrt(var + eps) * gamma + beta\n",
       "    from dlcourse.nn import BatchNorm1d\n\n    bn = BatchNorm1d(z.shape[1], eps=eps)\n"
       "    bn.gamma.data[...] = gamma\n    bn.beta.data[...] = beta\n    return bn(z)\n")],
     r"may not call dlcourse\.nn\.BatchNorm1d$"),
    # calls the package's normalisation kernel
    ("ch03.bn_forward", "ch03.py",
     [("    return (z - mu) / np.sqrt(var + eps) * gamma + beta\n",
       "    from dlcourse.nn.norm import norm_forward\n\n"
       "    return norm_forward(z, (0,), gamma, beta, eps)[0]\n")],
     r"may not call dlcourse\.nn\.norm\.norm_forward$"),
    # the notes' γ = √σ_B²: ε dropped, the input is not restored
    ("ch03.bn_reparam", "ch03.py",
     [("    return np.sqrt(var + eps), mu\n", "    return np.sqrt(var), mu\n")],
     r"bn_identity_params: gamma: expected .* at index \[1\]"),
    # the unbiased variance
    ("ch03.bn_reparam", "ch03.py",
     [("    var = np.mean((z - mu) ** 2, axis=0)\n    return np.sqrt(var + eps), mu\n",
       "    var = np.var(z, axis=0, ddof=1)\n    return np.sqrt(var + eps), mu\n")],
     r"bn_identity_params: gamma: expected"),
]
