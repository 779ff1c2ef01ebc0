# Mutants of lab 5 (read by tests/grading/test_gates.py, gate 4): typical wrong answers, each
# with the first failure line it must give, and one answer per forbidden reference that calls it.
_FORBIDDEN = r"may not call {}$"
_BN_FWD = "        if self.training:\n            N = x.shape[0]\n"
_BN_BWD = "        self.beta.grad += dout.sum(axis=0)\n"
_DROP_FWD = "        if not self.training or self.p == 0.0:\n            self.mask = None\n"
_DROP_BWD = "        if self.mask is None:\n            return dout\n"

MUTANTS = [
    # ------------------------------------------------------------ batchnorm_forward
    # batch statistics in eval mode (the eval branch copies the training one)
    ("lab5.batchnorm_forward", "lab5.py",
     [("mean, var = self.running_mean, self.running_var",
       "mean, var = x.mean(axis=0), x.var(axis=0)")],
     r"BatchNorm1d.forward in eval mode: expected .* at index"),
    # the running variance takes the biased batch variance
    ("lab5.batchnorm_forward", "lab5.py",
     [("m * var * N / (N - 1)", "m * var")],
     r"BatchNorm1d.running_var after one batch .*unbiased"),
    # momentum read the other way round (weight of the old estimate)
    ("lab5.batchnorm_forward", "lab5.py",
     [("self.running_mean = (1.0 - m) * self.running_mean + m * mean",
       "self.running_mean = m * self.running_mean + (1.0 - m) * mean")],
     r"BatchNorm1d.running_mean after one batch .*momentum"),
    # ε added outside the square root
    ("lab5.batchnorm_forward", "lab5.py",
     [("self.inv_std = 1.0 / np.sqrt(var + self.eps)",
       "self.inv_std = 1.0 / (np.sqrt(var) + self.eps)")],
     r"BatchNorm1d.forward \(training\): y = γ"),
    # the running estimates also move in eval mode
    ("lab5.batchnorm_forward", "lab5.py",
     [("        if self.training:\n            N = x.shape[0]\n",
       "        if True:\n            N = x.shape[0]\n")],
     r"BatchNorm1d.forward in eval mode: expected"),
    ("lab5.batchnorm_forward", "lab5.py",
     [(_BN_FWD, "        from dlcourse.nn import BatchNorm1d as Ref\n\n"
                "        Ref(self.num_features).forward(x)\n" + _BN_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.BatchNorm1d")),
    ("lab5.batchnorm_forward", "lab5.py",
     [(_BN_FWD, "        from dlcourse.nn.norm import norm_forward\n\n"
                "        norm_forward(x, (0,), None, None, self.eps)\n" + _BN_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.norm\.norm_forward")),
    # ------------------------------------------------------------ batchnorm_backward
    # the term through the batch mean μ is missing
    ("lab5.batchnorm_backward", "lab5.py",
     [("dx_hat = (dx_hat - dx_hat.mean(axis=0)\n", "dx_hat = (dx_hat\n")],
     r"BatchNorm1d.backward \(training\): dx: relative error"),
    # μ and σ² treated as constants in training too (the naive dx = γ dout / σ)
    ("lab5.batchnorm_backward", "lab5.py",
     [("        if self.batch_stats:\n", "        if False:\n")],
     r"BatchNorm1d.backward \(training\): dx: relative error"),
    # the training-mode formula used in eval mode as well
    ("lab5.batchnorm_backward", "lab5.py",
     [("        if self.batch_stats:\n", "        if True:\n")],
     r"BatchNorm1d.backward \(eval\): dx: relative error"),
    # gradients assigned instead of accumulated
    ("lab5.batchnorm_backward", "lab5.py",
     [("self.gamma.grad += (dout * self.x_hat).sum(axis=0)",
       "self.gamma.grad = (dout * self.x_hat).sum(axis=0)")],
     r"must add \(\+=\) into gamma.grad"),
    ("lab5.batchnorm_backward", "lab5.py",
     [(_BN_BWD, "        from dlcourse.nn import BatchNorm1d as Ref\n\n"
                "        Ref(self.num_features)\n" + _BN_BWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.BatchNorm1d")),
    ("lab5.batchnorm_backward", "lab5.py",
     [(_BN_BWD, "        from dlcourse.nn.norm import norm_backward\n\n"
                "        norm_backward(dout, None)\n" + _BN_BWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.norm\.norm_backward")),
    # ------------------------------------------------------------ dropout_forward
    # no 1/(1 − p) scale: E[out] = (1 − p) x
    ("lab5.dropout_forward", "lab5.py",
     [("return x * self.mask / (1.0 - p)", "return x * self.mask")],
     r"Dropout.forward \(training, p=0.3\): kept elements: .*scales every kept element"),
    # p read as the keep probability
    ("lab5.dropout_forward", "lab5.py",
     [("self.mask = self.rng.random(x.shape) >= p", "self.mask = self.rng.random(x.shape) < p")],
     r"fraction of dropped elements 0\.[67]\d*, expected p = 0\.3 "),
    # one fixed mask for every call
    ("lab5.dropout_forward", "lab5.py",
     [("self.mask = self.rng.random(x.shape) >= p",
       "self.mask = np.random.default_rng(0).random(x.shape) >= p")],
     r"two training-mode calls dropped the same elements"),
    # numpy's global random state instead of self.rng
    ("lab5.dropout_forward", "lab5.py",
     [("self.mask = self.rng.random(x.shape) >= p",
       "self.mask = np.random.random(x.shape) >= p")],
     r"two layers with rng=0 gave different masks"),
    # dropout also in eval mode
    ("lab5.dropout_forward", "lab5.py",
     [("        if not self.training or self.p == 0.0:\n",
       "        if self.p == 0.0:\n")],
     r"Dropout.forward in eval mode \(must be the identity\)"),
    ("lab5.dropout_forward", "lab5.py",
     [(_DROP_FWD, "        from dlcourse.nn import Dropout as Ref\n\n"
                  "        Ref(self.p)\n" + _DROP_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.Dropout")),
    ("lab5.dropout_forward", "lab5.py",
     [(_DROP_FWD, "        from dlcourse.nn.dropout import dropout_forward\n\n"
                  "        dropout_forward(x, self.p, self.rng, self.training)\n" + _DROP_FWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.dropout\.dropout_forward")),
    # ------------------------------------------------------------ dropout_backward
    # the backward forgets the scale
    ("lab5.dropout_backward", "lab5.py",
     [("return dout * self.mask / (1.0 - self.p)", "return dout * self.mask")],
     r"Dropout.backward \(p=0.3\): expected"),
    # a fresh mask in the backward instead of the forward's
    ("lab5.dropout_backward", "lab5.py",
     [("return dout * self.mask / (1.0 - self.p)",
       "return dout * (self.rng.random(dout.shape) >= self.p) / (1.0 - self.p)")],
     r"Dropout.backward \(p=0.3\): expected .*mask μ of the forward call"),
    ("lab5.dropout_backward", "lab5.py",
     [(_DROP_BWD, "        from dlcourse.nn import Dropout as Ref\n\n"
                  "        Ref(self.p)\n" + _DROP_BWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.Dropout")),
    ("lab5.dropout_backward", "lab5.py",
     [(_DROP_BWD, "        from dlcourse.nn.dropout import dropout_backward\n\n"
                  "        dropout_backward(dout, None)\n" + _DROP_BWD)],
     _FORBIDDEN.format(r"dlcourse\.nn\.dropout\.dropout_backward")),
    # ------------------------------------------------------------ build_net
    # BatchNorm after the ReLU instead of before it
    ("lab5.build_net", "lab5.py",
     [("        if batch_norm:\n            layers.append(BatchNorm1d(fan_out))\n"
       "        layers.append(ReLU())\n",
       "        layers.append(ReLU())\n"
       "        if batch_norm:\n            layers.append(BatchNorm1d(fan_out))\n")],
     r"build_net\(\[6, 5, 4, 3\], batch_norm=True, dropout=0.0\): layers: expected"),
    # Dropout layers seeded on their own instead of from g
    ("lab5.build_net", "lab5.py",
     [("layers.append(Dropout(dropout, rng=g))", "layers.append(Dropout(dropout))")],
     r"two networks gave different training-mode outputs"),
    ("lab5.build_net", "lab5.py",
     [("            layers.append(BatchNorm1d(fan_out))\n",
       "            from dlcourse.nn import BatchNorm1d as Ref\n\n"
       "            layers.append(Ref(fan_out))\n")],
     _FORBIDDEN.format(r"dlcourse\.nn\.BatchNorm1d")),
    ("lab5.build_net", "lab5.py",
     [("            layers.append(Dropout(dropout, rng=g))\n",
       "            from dlcourse.nn import Dropout as Ref\n\n"
       "            layers.append(Ref(dropout, rng=g))\n")],
     _FORBIDDEN.format(r"dlcourse\.nn\.Dropout")),
    # ------------------------------------------------------------ epochs_to_target
    # epochs counted from 0
    ("lab5.epochs_to_target", "lab5.py",
     [("enumerate(val_accuracy, start=1)", "enumerate(val_accuracy)")],
     r"epochs_to_target\(\[0.9, 0.97, 0.96\], 0.97\): expected 2, got 1"),
    # strictly above the target
    ("lab5.epochs_to_target", "lab5.py",
     [("if acc >= target:", "if acc > target:")],
     r"epochs_to_target\(\[0.9, 0.97, 0.96\], 0.97\): expected 2, got None"),
]
