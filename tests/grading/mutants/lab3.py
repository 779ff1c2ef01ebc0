# Mutants of lab 3 (read by tests/grading/test_gates.py, gate 4): typical wrong answers, each
# with the first failure line it must give, and one answer per forbidden reference that calls it.
_CONV_FWD = "        N, _, H, W = x.shape\n        F = self.W.data.shape[0]\n"
_CONV_BWD = "        F = self.W.data.shape[0]\n        d2 = dout"
_MAX_FWD = "        N, C, H, W = x.shape\n        (ph, pw), k, s = self.padding"
_MAX_BWD = "        kh, kw = self.kernel_size\n        dcols = np.zeros("
_AVG_FWD = "        N, C, H, W = x.shape\n        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size"
_AVG_BWD = "        kh, kw = self.kernel_size\n        dcols = np.repeat("
_NET = "    model = Sequential(\n        Conv2d(C, 8, 3, padding=1, rng=g), ReLU(), MaxPool2d(2),\n"
_FORBIDDEN = r"may not call {}$"

MUTANTS = [
    # ------------------------------------------------------------ output_size
    # the stride is ignored
    ("lab3.output_size", "lab3.py",
     [("return (size - kernel + 2 * padding) // stride + 1",
       "return (size - kernel + 2 * padding) + 1")],
     r"output_size\(8, 3, 2, 1\): expected 4, got 8"),
    # no floor: the notes' formula as printed
    ("lab3.output_size", "lab3.py",
     [("return (size - kernel + 2 * padding) // stride + 1",
       "return (size - kernel + 2 * padding) / stride + 1")],
     r"output_size\(8, 3, 2, 1\): expected 4, got 4.5"),
    ("lab3.output_size", "lab3.py",
     [("    return (size - kernel + 2 * padding) // stride + 1\n",
       "    from dlcourse.nn.conv import conv_output_size\n\n"
       "    return conv_output_size(size, kernel, stride, padding)\n")],
     _FORBIDDEN.format(r"dlcourse\.nn\.conv\.conv_output_size")),
    # ------------------------------------------------------------ im2col
    # columns in (u, v, c) order instead of (c, u, v): right for one channel only
    ("lab3.im2col", "lab3.py",
     [("win.transpose(1, 4, 5, 0, 2, 3)", "win.transpose(4, 5, 1, 0, 2, 3)")],
     r"im2col\(x \(2, 3, 7, 9\), kernel_size=3, stride=1, padding=1\): expected .* differ\) "
     r"\(rows \(n, i, j\), columns \(c, u, v\)"),
    # every window position instead of every stride-th
    ("lab3.im2col", "lab3.py",
     [("win = win[:, :, : sh * (OH - 1) + 1 : sh, : sw * (OW - 1) + 1 : sw]",
       "win = win[:, :, :OH, :OW]")],
     r"im2col\(figure, 2, stride=2\): expected .*window \(i, j\)"),
    ("lab3.im2col", "lab3.py",
     [("    OH, OW = output_size(H, kh, sh, ph), output_size(W, kw, sw, pw)\n    xp = np.pad(",
       "    from dlcourse.nn.conv import im2col as reference\n\n"
       "    return reference(x, kernel_size, stride, padding)\n    xp = np.pad(")],
     _FORBIDDEN.format(r"dlcourse\.nn\.conv\.im2col")),
    # ------------------------------------------------------------ col2im
    # overlapping windows overwrite each other instead of adding
    ("lab3.col2im", "lab3.py",
     [("dxp[:, :, rows, columns] += d[", "dxp[:, :, rows, columns] = d[")],
     r"col2im\(ones \(4, 4\), .*: expected 4 at index \[0, 0, 1, 1\], got 1 .*add \(\+=\)"),
    # the padding is not removed
    ("lab3.col2im", "lab3.py",
     [("    return dxp[:, :, ph : ph + H, pw : pw + W]\n", "    return dxp\n")],
     r"col2im\(c, \(2, 3, 7, 9\), kernel_size=3, stride=1, padding=1\): expected shape "
     r"\(2, 3, 7, 9\), got \(2, 3, 9, 11\)"),
    ("lab3.col2im", "lab3.py",
     [("    OH, OW = (H - kh + 2 * ph) // sh + 1, (W - kw + 2 * pw) // sw + 1\n",
       "    from dlcourse.nn import col2im as reference\n\n"
       "    return reference(cols, x_shape, kernel_size, stride, padding)\n")],
     _FORBIDDEN.format(r"dlcourse\.nn\.conv\.col2im")),
    # ------------------------------------------------------------ conv_forward
    # a true convolution (flipped kernel) instead of PyTorch's cross-correlation
    ("lab3.conv_forward", "lab3.py",
     [("out = self.cols @ self.W.data.reshape(F, -1).T",
       "out = self.cols @ self.W.data[:, :, ::-1, ::-1].reshape(F, -1).T")],
     r"Conv2d\(2, 1, 2\) on the chapter's X, K: expected"),
    # no bias
    ("lab3.conv_forward", "lab3.py",
     [("self.W.data.reshape(F, -1).T + self.b.data", "self.W.data.reshape(F, -1).T")],
     r"Conv2d\(3, 4, 3, stride=1, padding=1\)\.forward: expected .*plus b\[f\]"),
    # the (N·OH·OW, F) product reshaped straight to (N, F, OH, OW)
    ("lab3.conv_forward", "lab3.py",
     [("return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)",
       "return out.reshape(N, F, OH, OW)")],
     r"Conv2d\(3, 4, 3, stride=1, padding=1\)\.forward: expected"),
    ("lab3.conv_forward", "lab3.py",
     [(_CONV_FWD,
       "        from dlcourse.nn import Conv2d as Reference\n\n"
       "        ref = Reference(x.shape[1], self.W.data.shape[0], self.kernel_size,\n"
       "                        self.stride, self.padding)\n"
       "        ref.W.data[...], ref.b.data[...] = self.W.data, self.b.data\n"
       "        self.x_shape = x.shape\n"
       "        self.cols = im2col(x, self.kernel_size, self.stride, self.padding)\n"
       "        return ref(x)\n" + _CONV_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.Conv2d")),
    ("lab3.conv_forward", "lab3.py",
     [(_CONV_FWD,
       "        from dlcourse.nn.conv import conv2d_forward\n\n"
       "        self.x_shape = x.shape\n"
       "        self.cols = im2col(x, self.kernel_size, self.stride, self.padding)\n"
       "        return conv2d_forward(x, self.W.data, self.b.data, self.stride,\n"
       "                              self.padding)[0]\n" + _CONV_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.conv\.conv2d_forward")),
    # ------------------------------------------------------------ conv_backward
    # the kernel flipped in dx (the "full convolution with the rotated kernel" of the direct
    # formulation, wrongly carried over to the im2col one)
    ("lab3.conv_backward", "lab3.py",
     [("dcols = d2 @ self.W.data.reshape(F, -1)",
       "dcols = d2 @ self.W.data[:, :, ::-1, ::-1].reshape(F, -1)")],
     r"Conv2d\(2, 3, 3, stride=2, padding=1\)\.backward: dx: relative error .*no flipped kernel"),
    # dW as (C·kh·kw, F) reshaped to (F, C, kh, kw) without the transpose
    ("lab3.conv_backward", "lab3.py",
     [("(d2.T @ self.cols).reshape(self.W.data.shape)",
       "(self.cols.T @ d2).reshape(self.W.data.shape)")],
     r"Conv2d\(2, 3, 3, stride=2, padding=1\)\.backward: dW: relative error"),
    # db summed over the spatial axes of the first sample only (the batch axis forgotten)
    ("lab3.conv_backward", "lab3.py",
     [("self.b.grad += dout.sum(axis=(0, 2, 3))", "self.b.grad += dout.sum(axis=(2, 3))[0]")],
     r"\.backward: db: relative error .*sum dout over the batch"),
    # W.grad overwritten instead of accumulated
    ("lab3.conv_backward", "lab3.py",
     [("self.W.grad += (d2.T", "self.W.grad = (d2.T")],
     r"W\.grad after two backward calls: expected .*add \(\+=\)"),
    ("lab3.conv_backward", "lab3.py",
     [(_CONV_BWD,
       "        from dlcourse.nn import Conv2d as Reference\n\n"
       "        Reference(self.W.data.shape[1], self.W.data.shape[0], self.kernel_size)\n"
       + _CONV_BWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.Conv2d")),
    ("lab3.conv_backward", "lab3.py",
     [(_CONV_BWD,
       "        from dlcourse.nn.conv import Conv2dCache, conv2d_backward\n\n"
       "        cache = Conv2dCache(self.cols.T, self.W.data, self.x_shape, self.stride,\n"
       "                            self.padding, True)\n"
       "        dx, dW, db = conv2d_backward(dout, cache)\n"
       "        self.W.grad += dW\n        self.b.grad += db\n        return dx\n" + _CONV_BWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.conv\.conv2d_backward")),
    # ------------------------------------------------------------ maxpool
    # the gradient spread over the window (average pooling's backward)
    ("lab3.maxpool", "lab3.py",
     [("dcols[np.arange(dout.size), self.arg] = dout.reshape(-1)",
       "dcols[:] = dout.reshape(-1, 1) / (kh * kw)")],
     r"MaxPool2d\(2\)\.backward on the outline's figure.*window's maximum only"),
    # zero padding: a 0 beats negative values at the border
    ("lab3.maxpool", "lab3.py",
     [(", constant_values=-np.inf)", ")")],
     r"MaxPool2d\(3, stride=1, padding=1\)\.forward on negative inputs: expected .*−inf"),
    # ties to the last maximum
    ("lab3.maxpool", "lab3.py",
     [("self.arg = cols.argmax(axis=1)",
       "self.arg = cols.shape[1] - 1 - cols[:, ::-1].argmax(axis=1)")],
     r"\.backward with ties: dx: expected .*first maximum in row-major order"),
    # the padding is kept in dx
    ("lab3.maxpool", "lab3.py",
     [("return dxp.reshape(N, C, H, W)[:, :, ph : H - ph, pw : W - pw]",
       "return dxp.reshape(N, C, H, W)")],
     r"MaxPool2d\(3, stride=1, padding=1\)\.backward: dx: expected shape \(2, 2, 5, 6\), "
     r"got \(2, 2, 7, 8\)"),
    ("lab3.maxpool", "lab3.py",
     [(_MAX_FWD,
       "        from dlcourse.nn import MaxPool2d as Reference\n\n"
       "        self.reference = Reference(self.kernel_size, self.stride, self.padding)\n"
       "        return self.reference(x)\n" + _MAX_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.MaxPool2d")),
    ("lab3.maxpool", "lab3.py",
     [(_MAX_FWD,
       "        from dlcourse.nn.pool import maxpool2d_forward\n\n"
       "        out, self.cache = maxpool2d_forward(x, self.kernel_size, self.stride,\n"
       "                                            self.padding)\n"
       "        return out\n" + _MAX_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.pool\.maxpool2d_forward")),
    ("lab3.maxpool", "lab3.py",
     [(_MAX_BWD,
       "        from dlcourse.nn.pool import Pool2dCache, maxpool2d_backward\n\n"
       "        (ph, pw), (Hp, Wp) = self.padding, self.xp_shape[2:]\n"
       "        x_shape = (*self.out_shape[:2], Hp - 2 * ph, Wp - 2 * pw)\n"
       "        cache = Pool2dCache(x_shape, self.kernel_size, self.stride, self.padding,\n"
       "                            self.out_shape, dout.dtype, self.arg.reshape(self.out_shape))\n"
       "        return maxpool2d_backward(dout, cache)\n" + _MAX_BWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.pool\.maxpool2d_backward")),
    # ------------------------------------------------------------ avgpool
    # the padding not counted in the divisor (PyTorch's count_include_pad=False)
    ("lab3.avgpool", "lab3.py",
     [("        return cols.mean(axis=1).reshape(N, C, OH, OW)\n",
       "        ones = im2col(np.ones((1, 1, H, W)), self.kernel_size, self.stride, self.padding)\n"
       "        return (cols.sum(axis=1) / np.tile(ones.sum(axis=1), N * C)).reshape(N, C, OH, OW)"
       "\n")],
     r"AvgPool2d\(3, stride=2, padding=1\) on arange\(16\) as 4×4: expected .*also at the border"),
    # the backward forgets the 1/(kh·kw)
    ("lab3.avgpool", "lab3.py",
     [("np.repeat(dout.reshape(-1, 1) / (kh * kw), kh * kw, axis=1)",
       "np.repeat(dout.reshape(-1, 1), kh * kw, axis=1)")],
     r"AvgPool2d\(2, stride=None, padding=0\)\.backward: dx: relative error"),
    ("lab3.avgpool", "lab3.py",
     [(_AVG_FWD,
       "        from dlcourse.nn import AvgPool2d as Reference\n\n"
       "        self.reference = Reference(self.kernel_size, self.stride, self.padding)\n"
       "        return self.reference(x)\n" + _AVG_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.AvgPool2d")),
    ("lab3.avgpool", "lab3.py",
     [(_AVG_FWD,
       "        from dlcourse.nn.pool import avgpool2d_forward\n\n"
       "        return avgpool2d_forward(x, self.kernel_size, self.stride, self.padding)[0]\n"
       + _AVG_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.pool\.avgpool2d_forward")),
    ("lab3.avgpool", "lab3.py",
     [(_AVG_BWD,
       "        from dlcourse.nn.pool import Pool2dCache, avgpool2d_backward\n\n"
       "        x_shape = dout.shape[:2] + self.x_shape[2:]\n"
       "        cache = Pool2dCache(x_shape, self.kernel_size, self.stride, self.padding,\n"
       "                            dout.shape, dout.dtype)\n"
       "        return avgpool2d_backward(dout, cache)\n" + _AVG_BWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.pool\.avgpool2d_backward")),
    # ------------------------------------------------------------ train_cnn
    # numpy's global random state for the shuffle
    ("lab3.train_cnn", "lab3.py",
     [("order = g.permutation(N)", "order = np.random.permutation(N)")],
     r"two runs with rng=0 gave different weights"),
    # one epoch whatever epochs says
    ("lab3.train_cnn", "lab3.py",
     [("    for _ in range(epochs):\n        order = g",
       "    for _ in range(1):\n        order = g")],
     r"train_cnn: test accuracy 0\.\d+ < 0\.9 after 8 epochs"),
    # average instead of max pooling (the package's ReLU layers are fine, the pooling is not)
    ("lab3.train_cnn", "lab3.py",
     [(_NET, _NET.replace("MaxPool2d(2)", "AvgPool2d(2)"))],
     r"train_cnn: layers: expected .*, got \['your Conv2d', 'nn.ReLU', 'your AvgPool2d'"),
    ("lab3.train_cnn", "lab3.py",
     [(_NET, "    from dlcourse import nn\n\n"
       + _NET.replace("        Conv2d(", "        nn.Conv2d("))],
     _FORBIDDEN.format(r"dlcourse\.nn\.Conv2d")),
    ("lab3.train_cnn", "lab3.py",
     [(_NET, "    from dlcourse import nn\n\n" + _NET.replace("MaxPool2d(2)", "nn.MaxPool2d(2)"))],
     _FORBIDDEN.format(r"dlcourse\.nn\.MaxPool2d")),
    ("lab3.train_cnn", "lab3.py",
     [("    opt = Adam(model.parameters(), lr=lr)\n",
       "    from dlcourse.train import fit\n\n"
       "    fit(model, None, Adam(model.parameters(), lr=lr), [(X, y)], epochs=epochs,\n"
       "        quiet=True)\n"
       "    opt = Adam(model.parameters(), lr=lr)\n")],
     _FORBIDDEN.format(r"dlcourse\.train\.fit")),
]
