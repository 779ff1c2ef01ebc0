# Mutants of chapter 4's exercises (read by tests/grading/test_gates.py, gate 4).
_TDNN_BODY = "    N, T, _ = x.shape\n    steps = T - K + 1\n"
_TDNN_LOOP = "        out += x[:, K - 1 - k : K - 1 - k + steps] @ W[k]\n"
_TDNN_W = "    return np.ascontiguousarray(W[::-1].transpose(2, 1, 0))\n"
_POOL_SPLIT = "    windows = x.reshape(N, C, H // k, k, W // k, k)\n"
_POOL_MAX = "        return windows.max(axis=(3, 5))\n"
_POOL_MEAN = "    return windows.mean(axis=(3, 5))\n"
_POOL_BODY = "    N, C, H, W = x.shape\n"
_POOL_ANSWER = "    return (f(x) if mode == 'max' else g(x))\n"
_CONV_BODY = "    pixels = x.transpose(0, 2, 3, 1)  # (N, H, W, C): a row of channels per pixel\n"
_LENET = (
    "    f32 = np.float32\n    model = nn.Sequential(\n"
    "        nn.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=f32), nn.BatchNorm2d(16, dtype=f32),\n"
    "        nn.ReLU(), nn.MaxPool2d(2),\n"
    "        nn.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=f32), nn.BatchNorm2d(32, dtype=f32),\n"
    "        nn.ReLU(), nn.MaxPool2d(2),\n"
    "        nn.Flatten(), nn.Linear(32 * (X.shape[2] // 4) * (X.shape[3] // 4), 10, rng=rng, "
    "dtype=f32),\n    )\n"
    "    loader = DataLoader(X.astype(f32), y, batch_size=64, shuffle=True, rng=rng)\n"
    "    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=3e-3), loader, epochs=5, "
    "quiet=True)\n"
)
_BASELINE = (
    "    from dlcourse.models import LeNet5\n\n    f32 = np.float32\n"
    "    model = LeNet5(image_size=16, rng=rng, dtype=f32)\n"
    "    loader = DataLoader(X.astype(f32), y, batch_size=64, shuffle=True, rng=rng)\n"
    "    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3), loader, epochs=3, "
    "quiet=True)\n"
)


def _calls(exercise, old, new, name):
    """An answer that calls the package's ``name``, forbidden in ``exercise``."""
    return (exercise, "ch04.py", [(old, new + old)], "may not call " + name.replace(".", r"\.")
            + "$")


MUTANTS = [
    # 6-1: the delays read forward in time (a cross-correlation: the kernel not flipped)
    ("ch04.tdnn", "ch04.py",
     [(_TDNN_LOOP, "        out += x[:, k : k + steps] @ W[k]\n")],
     r"tdnn_layer\(x=\[1, 2, 3, 4\], W\[0\]=1, W\[1\]=10\): expected 12 at index \[0, 0, 0\], "
     r"got 21"),
    # 6-1: the bias forgotten
    ("ch04.tdnn", "ch04.py", [("    return out + b\n", "    return out\n")],
     r"tdnn_layer \(N, T, D, F, K\) = \(2, 9, 3, 4, 3\): expected"),
    _calls("ch04.tdnn", _TDNN_BODY,
           "    from dlcourse.nn import Conv1d\n\n    conv = Conv1d(D, F, K)\n",
           "dlcourse.nn.Conv1d"),
    _calls("ch04.tdnn", _TDNN_BODY,
           "    from dlcourse.nn.conv1d import conv1d\n\n    conv1d(x[0, :, 0], W[:, 0, 0])\n",
           "dlcourse.nn.conv1d.conv1d"),
    _calls("ch04.tdnn", _TDNN_BODY,
           "    from dlcourse.nn.conv1d import conv1d_forward\n\n"
           "    conv1d_forward(x.transpose(0, 2, 1), W[::-1].transpose(2, 1, 0), b)\n",
           "dlcourse.nn.conv1d.conv1d_forward"),
    _calls("ch04.tdnn", _TDNN_BODY,
           "    from dlcourse.nn import Conv2d\n\n    conv = Conv2d(D, F, (1, K))\n",
           "dlcourse.nn.Conv2d"),
    _calls("ch04.tdnn", _TDNN_BODY,
           "    from dlcourse.nn.conv import conv2d_forward\n\n"
           "    conv2d_forward(x.transpose(0, 2, 1)[:, :, None], W[::-1].T[:, :, None], b)\n",
           "dlcourse.nn.conv.conv2d_forward"),
    # 6-1: the TDNN kernel not flipped for Conv1d's cross-correlation
    ("ch04.tdnn_conv1d", "ch04.py",
     [(_TDNN_W, "    return np.ascontiguousarray(W.transpose(2, 1, 0))\n")],
     r"Conv1d with tdnn_as_conv1d_weight\(W\), K = 3: expected"),
    # 6-1: (K, D, F) reshaped to (F, D, K) instead of transposed
    ("ch04.tdnn_conv1d", "ch04.py",
     [(_TDNN_W, "    return np.ascontiguousarray(W[::-1]).reshape(W.shape[::-1])\n")],
     r"Conv1d with tdnn_as_conv1d_weight\(W\), K = 3: expected"),
    # 11: the reshape order mixes rows and columns (windows of consecutive pixels in memory)
    ("ch04.pooling", "ch04.py",
     [(_POOL_SPLIT, "    windows = x.reshape(N, C, H // k, W // k, k, k)\n"),
      (_POOL_MAX, "        return windows.max(axis=(4, 5))\n"),
      (_POOL_MEAN, "    return windows.mean(axis=(4, 5))\n")],
     r"pool2d\(figure, 2, 'max'\): expected 37 at index \[0, 0, 1, 1\], got 112 \(4 of 4"),
    # 11: pooling over the wrong axes (across windows, for each offset in the window)
    ("ch04.pooling", "ch04.py",
     [(_POOL_MAX, "        return windows.max(axis=(2, 4))\n"),
      (_POOL_MEAN, "    return windows.mean(axis=(2, 4))\n")],
     r"pool2d\(figure, 2, 'max'\): expected 37 at index \[0, 0, 1, 1\], got 100 \(3 of 4"),
    # 11: the sum of each window instead of its mean
    ("ch04.pooling", "ch04.py", [(_POOL_MEAN, "    return windows.sum(axis=(3, 5))\n")],
     r"pool2d\(figure, 2, 'avg'\): expected 79 at index \[0, 0, 1, 0\], got 316"),
    # 11: non-square maps read with H and W swapped
    ("ch04.pooling", "ch04.py", [(_POOL_BODY, "    N, C, W, H = x.shape\n")],
     r"pool2d\(x of shape \(2, 3, 6, 9\), k=3, 'max'\): expected"),
    _calls("ch04.pooling", _POOL_BODY,
           "    from dlcourse.nn import AvgPool2d, MaxPool2d\n\n"
           "    f, g = MaxPool2d(k), AvgPool2d(k)\n" + _POOL_ANSWER, "dlcourse.nn.MaxPool2d"),
    _calls("ch04.pooling", _POOL_BODY,
           "    from dlcourse.nn import AvgPool2d\n\n"
           "    if mode == 'avg':\n        return AvgPool2d(k)(x)\n", "dlcourse.nn.AvgPool2d"),
    _calls("ch04.pooling", _POOL_BODY,
           "    from dlcourse.nn.pool import maxpool2d_forward\n\n"
           "    if mode == 'max':\n        return maxpool2d_forward(x, (k, k), (k, k))[0]\n",
           "dlcourse.nn.pool.maxpool2d_forward"),
    _calls("ch04.pooling", _POOL_BODY,
           "    from dlcourse.nn.pool import avgpool2d_forward\n\n"
           "    if mode == 'avg':\n        return avgpool2d_forward(x, (k, k), (k, k))[0]\n",
           "dlcourse.nn.pool.avgpool2d_forward"),
    _calls("ch04.pooling", _POOL_BODY,
           "    from dlcourse.nn import AdaptiveAvgPool2d\n\n    if mode == 'avg':\n"
           "        return AdaptiveAvgPool2d((x.shape[2] // k, x.shape[3] // k))(x)\n",
           "dlcourse.nn.AdaptiveAvgPool2d"),
    _calls("ch04.pooling", _POOL_BODY,
           "    from dlcourse.nn.upsample import max_pool2d_with_indices\n\n"
           "    if mode == 'max':\n        return max_pool2d_with_indices(x, k)[0]\n",
           "dlcourse.nn.upsample.max_pool2d_with_indices"),
    # 16: (N, C, H, W) reshaped to (N, H, W, C) instead of transposed: channels and pixels mixed
    ("ch04.conv1x1", "ch04.py",
     [(_CONV_BODY, "    pixels = x.reshape(x.shape[0], x.shape[2], x.shape[3], x.shape[1])\n")],
     r"conv1x1\(x, W, b\) with C = 3, F = 5: expected"),
    # 16: the channels moved back with the wrong permutation (H and W swapped)
    ("ch04.conv1x1", "ch04.py",
     [("    return out.transpose(0, 3, 1, 2)\n", "    return out.transpose(0, 3, 2, 1)\n")],
     r"conv1x1\(x, W, b\) with C = 3, F = 5: expected shape \(2, 5, 4, 6\), got \(2, 5, 6, 4\)"),
    _calls("ch04.conv1x1", _CONV_BODY,
           "    from dlcourse.nn import Conv2d\n\n    conv = Conv2d(x.shape[1], W.shape[0], 1)\n"
           "    conv.W.data[...], conv.b.data[...] = W, b\n    return conv(x)\n",
           "dlcourse.nn.Conv2d"),
    _calls("ch04.conv1x1", _CONV_BODY,
           "    from dlcourse.nn.conv import conv2d_forward\n\n"
           "    return conv2d_forward(x, W, b)[0]\n", "dlcourse.nn.conv.conv2d_forward"),
    # 16: the 1×1 weight not transposed for Linear's x @ W_lin
    ("ch04.conv1x1_linear", "ch04.py",
     [("    return W[:, :, 0, 0].T.copy(), b.copy()\n",
       "    return W[:, :, 0, 0].copy(), b.copy()\n")],
     r"conv1x1_as_linear\(W of shape \(5, 3, 1, 1\)\): W_lin: expected shape \(3, 5\), "
     r"got \(5, 3\)"),
    # 16: reshaped instead of transposed (right shape, wrong pairing of channels and filters)
    ("ch04.conv1x1_linear", "ch04.py",
     [("    return W[:, :, 0, 0].T.copy(), b.copy()\n",
       "    return W.reshape(W.shape[1], W.shape[0]), b.copy()\n")],
     r"nn\.Linear\(W_lin, b_lin\) on each pixel vs Conv2d\(3, 5, 1\): expected"),
    # 10: the notes' LeNet, not improved (sigmoid, 5×5 windows, Adam 1e-3, 3 epochs)
    ("ch04.improve_lenet", "ch04.py", [(_LENET, _BASELINE)],
     r"train_improved_lenet: test accuracy 0\.\d+ < 0\.94"),
    # 10: shuffling from numpy's global random state instead of rng
    ("ch04.improve_lenet", "ch04.py",
     [("    loader = DataLoader(X.astype(f32), y, batch_size=64, shuffle=True, rng=rng)\n",
       "    loader = DataLoader(X.astype(f32), y, batch_size=64, shuffle=True,\n"
       "                        rng=np.random.randint(2**31))\n")],
     r"train_improved_lenet: two runs with default_rng\(3\) predicted differently"),
]
