"""Tests for dlcourse/nn/module.py: Parameter, Module registration and persistence, Sequential."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import Linear, Module, Parameter, ReLU, Sequential, Tanh


class Scale(Module):
    """y = x * w (w of shape (D,)), with a running-count buffer; used to test the base class."""

    def __init__(self, D: int, seed: int = 0) -> None:
        super().__init__()
        self.w = Parameter(np.random.default_rng(seed).standard_normal(D))
        self.register_buffer("count", np.zeros(1))
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        self.count = self.count + 1
        return x * self.w.data

    def backward(self, dout: np.ndarray) -> np.ndarray:
        assert self._x is not None
        self.w.grad += (dout * self._x).sum(axis=0)
        return dout * self.w.data


class Net(Module):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.bias = Parameter(np.zeros(3))
        self.first = Scale(3, seed)
        self.body = Sequential(Scale(3, seed + 1), Scale(3, seed + 2))
        self.note = "plain attribute"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.body(self.first(x)) + self.bias.data


class Recorder(Module):
    """Identity that appends its name to a shared log on forward and backward."""

    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__()
        self.name, self.log = name, log

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.log.append(f"f{self.name}")
        return x + 1

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.log.append(f"b{self.name}")
        return dout * 2


# ------------------------------------------------------------------------- Parameter
def test_parameter_copies_data_and_starts_with_zero_grad() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    p = Parameter(a)
    p.data += 1
    assert a[0, 0] == 0  # the caller's array is untouched
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32 and not p.grad.any()
    assert p.shape == (2, 3) and p.dtype == np.float32
    grad = p.grad
    p.grad += 5
    p.zero_grad()
    assert p.grad is grad and not p.grad.any()
    assert Parameter([1, 2]).dtype == np.float64
    assert repr(p) == "Parameter(shape=(2, 3), dtype=float32)"


def test_parameter_rejects_non_numeric() -> None:
    with pytest.raises(TypeError, match="data"):
        Parameter(np.array(["a", "b"]))


# ------------------------------------------------------------------------- registration
def test_named_parameters_are_dotted_and_in_assignment_order() -> None:
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["bias", "first.w", "body.0.w", "body.1.w"]
    assert net.parameters()[1] is net.first.w
    assert [type(c).__name__ for c in net.children()] == ["Scale", "Sequential"]
    assert [n for n, _ in net.named_children()] == ["first", "body"]
    assert len(net.modules()) == 5
    assert net.note == "plain attribute"


def test_reassigning_or_deleting_unregisters() -> None:
    net = Net()
    net.bias = None
    del net.first
    net.body = "not a module any more"
    assert net.named_parameters() == []
    assert net.children() == []


def test_shared_parameter_is_listed_once() -> None:
    a, b = Scale(3), Scale(3)
    b.w = a.w
    seq = Sequential(a, b)
    assert [n for n, _ in seq.named_parameters()] == ["0.w"]


def test_assigning_a_parameter_before_super_init_raises() -> None:
    class Broken(Module):
        def __init__(self) -> None:
            self.w = Parameter(np.zeros(2))

    with pytest.raises(RuntimeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_base_module_forward_and_backward_are_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Module()(np.zeros(2))
    with pytest.raises(NotImplementedError):
        Module().backward(np.zeros(2))


def test_zero_grad_resets_all_parameters() -> None:
    net = Net()
    for p in net.parameters():
        p.grad += 3.0
    net.zero_grad()
    assert all(not p.grad.any() for p in net.parameters())


def test_train_and_eval_propagate_to_every_descendant() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(TypeError, match="mode"):
        net.train("yes")


# ------------------------------------------------------------------------- state_dict
def test_state_dict_holds_copies_of_parameters_and_buffers() -> None:
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["bias", "first.w", "body.0.w", "body.1.w", "first.count",
                        "body.0.count", "body.1.count"]
    sd["first.w"] += 100.0
    assert not np.allclose(net.first.w.data, sd["first.w"])


def test_load_state_dict_round_trip_in_place() -> None:
    src, dst = Net(seed=0), Net(seed=10)
    src(np.ones((2, 3)))  # buffers change
    arrays = [p.data for p in dst.parameters()]
    missing, unexpected = dst.load_state_dict(src.state_dict())
    assert missing == [] and unexpected == []
    for p, q, a in zip(src.parameters(), dst.parameters(), arrays, strict=True):
        np.testing.assert_array_equal(p.data, q.data)
        assert q.data is a  # loaded in place: an optimiser holding q still sees it
    np.testing.assert_array_equal(dst.first.count, [1.0])
    dst(np.ones((2, 3)))
    assert "first.count" in dst.state_dict()  # reassigned buffer stays registered


def test_load_state_dict_strict_errors_name_the_keys() -> None:
    net = Net()
    sd = net.state_dict()
    del sd["body.0.w"]
    sd["extra"] = np.zeros(1)
    before = net.state_dict()
    with pytest.raises(ValueError, match=r"missing \['body.0.w'\], unexpected \['extra'\]"):
        net.load_state_dict(sd)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["body.0.w"] and unexpected == ["extra"]
    np.testing.assert_array_equal(net.body[0].w.data, before["body.0.w"])


def test_load_state_dict_shape_mismatch_raises_before_copying() -> None:
    net = Net()
    sd = {k: v + 1 for k, v in net.state_dict().items()}
    sd["body.1.w"] = np.zeros(4)
    before = net.state_dict()
    for strict in (True, False):
        with pytest.raises(ValueError, match=r"state_dict\['body.1.w'\]: expected shape \(3,\)"):
            net.load_state_dict(sd, strict=strict)
    np.testing.assert_array_equal(net.bias.data, before["bias"])


def test_load_state_dict_rejects_non_numeric_and_non_dict() -> None:
    net = Net()
    sd = net.state_dict()
    sd["bias"] = np.array(["a", "b", "c"])
    with pytest.raises(TypeError, match="bias"):
        net.load_state_dict(sd)
    with pytest.raises(TypeError, match="state_dict"):
        net.load_state_dict([1, 2])


def test_load_state_dict_casts_to_the_parameter_dtype() -> None:
    net = Linear(2, 3, dtype=np.float32, rng=0)
    net.load_state_dict({"W": np.ones((2, 3)), "b": np.arange(3)})
    assert net.W.data.dtype == np.float32 and net.b.data.dtype == np.float32
    np.testing.assert_array_equal(net.b.data, [0, 1, 2])


def test_save_and_load_npz(tmp_path: Path) -> None:
    src, dst = Net(seed=1), Net(seed=2)
    path = src.save(tmp_path / "net")
    assert path == tmp_path / "net.npz" and path.exists()
    assert dst.load(tmp_path / "net") is dst
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(src(x), dst(x))
    path2 = src.save(tmp_path / "again.npz")
    assert path2.name == "again.npz"
    with np.load(path2, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(src.state_dict())


def test_load_strict_error_from_file(tmp_path: Path) -> None:
    Scale(3).save(tmp_path / "scale.npz")
    with pytest.raises(ValueError, match="missing"):
        Net().load(tmp_path / "scale.npz")


def test_register_buffer_validates() -> None:
    m = Scale(2)
    with pytest.raises(ValueError, match="name"):
        m.register_buffer("not valid", np.zeros(1))
    with pytest.raises(TypeError, match="count"):
        m.count = [1, 2]


# ------------------------------------------------------------------------- repr
def test_repr_lists_children_nested() -> None:
    seq = Sequential(Linear(2, 4, rng=0), ReLU(), Sequential(Tanh()))
    assert repr(seq) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=4, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Tanh()\n"
        "  )\n"
        ")"
    )


# ------------------------------------------------------------------------- Sequential
def test_sequential_chains_forward_and_reverses_backward() -> None:
    log: list[str] = []
    seq = Sequential(Recorder("a", log), Recorder("b", log), Recorder("c", log))
    assert seq(np.zeros(2)).tolist() == [3.0, 3.0]
    assert seq.backward(np.ones(2)).tolist() == [8.0, 8.0]
    assert log == ["fa", "fb", "fc", "bc", "bb", "ba"]


def test_sequential_indexing_len_iter_and_slices() -> None:
    mods = [Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1)]
    seq = Sequential(*mods)
    assert len(seq) == 3
    assert seq[0] is mods[0] and seq[-1] is mods[2]
    assert list(seq) == mods
    head = seq[:2]
    assert isinstance(head, Sequential) and len(head) == 2 and head[0] is mods[0]
    with pytest.raises(IndexError, match="index"):
        seq[3]
    with pytest.raises(TypeError, match="index"):
        seq["0"]
    assert [n for n, _ in seq.named_parameters()] == ["0.W", "0.b", "2.W", "2.b"]


def test_sequential_rejects_non_modules() -> None:
    with pytest.raises(TypeError, match=r"modules\[1\]: expected a Module, got ufunc"):
        Sequential(ReLU(), np.tanh)


def test_sequential_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    seq = Sequential(Linear(4, 5, rng=rng), Tanh(), Linear(5, 3, rng=rng))
    check_module_gradients(seq, rng.standard_normal((6, 4)), rng)


def test_load_state_dict_reports_every_problem_in_one_error() -> None:
    net = Net()
    sd = net.state_dict()
    del sd["bias"]
    sd["extra"] = np.zeros(1)
    sd["body.1.w"] = np.zeros(4)
    sd["first.w"] = np.zeros((2, 2))
    before = net.state_dict()
    with pytest.raises(ValueError) as info:
        net.load_state_dict(sd)
    message = str(info.value)
    for part in ("missing ['bias']", "unexpected ['extra']",
                 "state_dict['body.1.w']: expected shape (3,), got (4,)",
                 "state_dict['first.w']: expected shape (3,), got (2, 2)"):
        assert part in message, message
    for name, value in net.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(value, before[name])
