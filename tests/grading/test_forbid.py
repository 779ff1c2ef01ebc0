"""Tests of ``dlcourse/grading/forbid.py``: the student's module cannot reach a forbidden
reference by any import path, while the tests and the package keep the real one."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import dlcourse.losses
import dlcourse.optim
from dlcourse import functional as F
from dlcourse.grading import load_impl
from dlcourse.grading.forbid import ForbiddenError, active, forbidding, resolve
from dlcourse.nn.activation import ACTIVATIONS

STUDENT = '''
import dlcourse
import dlcourse.losses as L
from dlcourse import functional as F, losses, optim
from dlcourse.nn import ReLU as ReExported
from dlcourse.nn.activation import ACTIVATIONS, ReLU
from dlcourse.optim import SGD

top_level = losses.softmax_cross_entropy


def via_package():
    return dlcourse.losses.softmax_cross_entropy


def via_alias():
    return L.softmax_cross_entropy


def via_local_import():
    from dlcourse.losses import softmax_cross_entropy

    return softmax_cross_entropy


def via_registry():
    return ACTIVATIONS["relu"].f


def subclass():
    class MyAdam(optim.Adam):
        pass

    return MyAdam
'''

FORBID = [
    "dlcourse.losses.softmax_cross_entropy",
    "dlcourse.optim.Adam",
    "dlcourse.nn.ReLU",
    "dlcourse.functional.relu",
]
MESSAGE = "implement this yourself: exercise m.x may not call "


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "student.py").write_text(textwrap.dedent(STUDENT), encoding="utf-8")
    return tmp_path


def test_every_path_to_a_forbidden_reference_raises(tree: Path) -> None:
    with forbidding("m.x", FORBID):
        mod = load_impl("student", tree)
        z, y = np.zeros((2, 3)), np.array([0, 2])
        name = "dlcourse.losses.softmax_cross_entropy"
        for got in (mod.top_level, mod.via_package(), mod.via_alias(), mod.via_local_import()):
            with pytest.raises(ForbiddenError, match=MESSAGE + name):
                got(z, y)
        with pytest.raises(ForbiddenError, match=MESSAGE + "dlcourse.optim.Adam"):
            mod.subclass()  # used as a base class
        with pytest.raises(ForbiddenError, match=MESSAGE + "dlcourse.nn.ReLU"):
            mod.ReLU()  # imported from its defining module, not the re-export named in forbid
        with pytest.raises(ForbiddenError, match="dlcourse.nn.ReLU"):
            _ = mod.ReExported.forward  # any use, not only a call
        with pytest.raises(ForbiddenError, match=MESSAGE + "dlcourse.functional.relu"):
            mod.via_registry()(z)  # a registry entry holding the forbidden function
        # what is not forbidden is the real object
        assert mod.SGD is dlcourse.optim.SGD
        assert mod.F.sigmoid is F.sigmoid
        assert mod.ACTIVATIONS["tanh"] is ACTIVATIONS["tanh"]
        assert mod.ACTIVATIONS["relu"].grad is F.relu_grad
        with pytest.raises(AttributeError, match="read-only"):
            mod.losses.softmax_cross_entropy = len  # the package cannot be patched through it


def test_the_guard_is_scoped_to_the_student_module_and_the_block(tree: Path) -> None:
    real = dlcourse.losses.softmax_cross_entropy
    with forbidding("m.x", FORBID):
        assert active() is not None and active().exercise == "m.x"
        mod = load_impl("student", tree)
        # the tests and the package keep the real references during the block
        assert dlcourse.losses.softmax_cross_entropy is real
        assert ACTIVATIONS["relu"].f is F.relu and dlcourse.nn.ReLU is ACTIVATIONS["relu"].module
        loss, _ = real(np.zeros((2, 3)), np.array([0, 1]))
        assert loss == pytest.approx(np.log(3.0))
    assert active() is None
    # a module loaded outside any block is not guarded
    assert load_impl("student", tree).via_package() is real
    # a module loaded in the block stays guarded after it (its imports were made then)
    with pytest.raises(ForbiddenError):
        mod.via_local_import()(np.zeros((1, 2)), np.array([0]))


def test_resolve_names_and_errors(tree: Path) -> None:
    assert resolve("dlcourse.optim.Adam") is dlcourse.optim.Adam
    assert resolve("dlcourse.losses") is dlcourse.losses
    assert resolve("dlcourse.nn.ReLU") is ACTIVATIONS["relu"].module
    for bad in ("dlcourse.optim.Adamm", "dlcourse.nope.f", "no_such_package.f", "a b", ""):
        with pytest.raises(ValueError, match="forbid"):
            resolve(bad)
    with pytest.raises(ValueError, match="forbid"):
        with forbidding("m.x", ["dlcourse.optim.Nope"]):
            load_impl("student", tree)  # the names are checked when a module is loaded
