"""Tests of dlcourse/data/safe_pickle.py: data files that cannot run code.

Hostile payloads are real: a control test shows that plain ``pickle.load`` on the same bytes
does create the marker file, so the restricted loader's refusal is what keeps it away.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np
import pytest

from dlcourse.data.safe_pickle import (
    NUMPY_ARRAY_GLOBALS,
    RestrictedUnpickler,
    UnsafePickleError,
    load_restricted,
)

REAL_DATA = os.environ.get("DLCOURSE_DATA")


class _TouchMarker:
    """Unpickling this object runs ``exec`` which creates the file ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return builtins.exec, (f"open({str(self.path)!r}, 'w').close()",)


def _hostile_batch(marker: Path, protocol: int = 4) -> bytes:
    """A CIFAR-like batch dict whose b'labels' value creates ``marker`` when unpickled."""
    batch = {
        b"batch_label": b"testing batch 1 of 1",
        b"data": np.zeros((2, 3072), dtype=np.uint8),
        b"labels": _TouchMarker(marker),
        b"filenames": [b"a.png", b"b.png"],
    }
    return pickle.dumps(batch, protocol=protocol)


def test_control_plain_pickle_runs_the_payload(tmp_path: Path) -> None:
    marker = tmp_path / "control_marker"
    pickle.loads(_hostile_batch(marker))  # noqa: S301 - the point of the control
    assert marker.exists()


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_code_in_a_batch_is_refused_and_never_runs(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "data_batch_1"
    path.write_bytes(_hostile_batch(marker, protocol))
    with pytest.raises(pickle.UnpicklingError) as info:
        load_restricted(path)
    assert isinstance(info.value, UnsafePickleError)
    assert str(path) in str(info.value) and "builtins.exec" in str(info.value)
    assert not marker.exists()


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


@pytest.mark.parametrize(
    ("module", "name"),
    [("os", "system"), ("posix", "system"), ("subprocess", "Popen"), ("builtins", "eval"),
     ("numpy", "load"), ("numpy.ma.core", "_mareconstruct"), ("copyreg", "_reconstructor")],
)  # fmt: skip
def test_any_other_global_is_refused(tmp_path: Path, module: str, name: str) -> None:
    path = tmp_path / "x.pkl"
    # GLOBAL, a one-element tuple argument, REDUCE, STOP: "module.name('echo')" by hand.
    path.write_bytes(b"\x80\x02" + _global(module, name) + b"U\x04echo\x85R.")
    with pytest.raises(UnsafePickleError, match=rf"{path}.*{module}\.{name}"):
        load_restricted(path)


def test_object_arrays_and_subclasses_are_refused(tmp_path: Path) -> None:
    obj = tmp_path / "obj.pkl"
    obj.write_bytes(pickle.dumps(np.array([1, "a"], dtype=object), protocol=4))
    with pytest.raises(pickle.UnpicklingError, match=str(obj)):
        load_restricted(obj)
    masked = tmp_path / "masked.pkl"
    masked.write_bytes(pickle.dumps(np.ma.masked_array([1, 2], mask=[0, 1]), protocol=4))
    with pytest.raises(UnsafePickleError, match=str(masked)):
        load_restricted(masked)


@pytest.mark.parametrize("opcodes", [b"K\x0a\x85\x81.", b"K\x0a\x85R."])  # NEWOBJ, REDUCE
def test_ndarray_class_cannot_be_called(tmp_path: Path, opcodes: bytes) -> None:
    path = tmp_path / "call.pkl"
    path.write_bytes(b"\x80\x02" + _global("numpy", "ndarray") + opcodes)  # ndarray(10)
    with pytest.raises(pickle.UnpicklingError, match=str(path)):
        load_restricted(path)


def test_truncated_and_garbage_files_name_the_file(tmp_path: Path) -> None:
    good = pickle.dumps({b"data": np.arange(12, dtype=np.uint8)}, protocol=4)
    for name, raw in (("short", good[: len(good) // 2]), ("garbage", b"not a pickle"),
                      ("empty", b"")):  # fmt: skip
        path = tmp_path / name
        path.write_bytes(raw)
        with pytest.raises(pickle.UnpicklingError, match=str(path)):
            load_restricted(path)


def test_persistent_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "pid.pkl"
    path.write_bytes(b"\x80\x02U\x03abcQ.")  # SHORT_BINSTRING 'abc', BINPERSID, STOP
    with pytest.raises(UnsafePickleError, match="persistent id"):
        load_restricted(path)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_numpy_arrays_of_numbers_round_trip(tmp_path: Path, protocol: int) -> None:
    rng = np.random.default_rng(0)
    value = {
        b"u8": rng.integers(0, 256, size=(4, 6), dtype=np.uint8),
        "f32": rng.standard_normal((3, 2)).astype(np.float32),
        b"i64": np.arange(-5, 5, dtype=np.int64),
        b"bool": np.array([True, False]),
        b"fortran": np.asfortranarray(rng.standard_normal((3, 4))),
        b"list": [1, 2, 3],
        b"nested": {b"s": "text", b"n": None, b"t": (1, 2.5)},
    }
    path = tmp_path / f"ok{protocol}.pkl"
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    # Python 3 pickles bytes with _codecs.encode below protocol 3: allow it for this test only.
    allowed = {**NUMPY_ARRAY_GLOBALS, ("_codecs", "encode"): __import__("codecs").encode}
    got = load_restricted(path, allowed=allowed)
    assert got.keys() == value.keys()
    for key in (b"u8", "f32", b"i64", b"bool", b"fortran"):
        assert got[key].dtype == value[key].dtype
        np.testing.assert_array_equal(got[key], value[key])
    assert got[b"list"] == [1, 2, 3] and got[b"nested"] == value[b"nested"]


def _official_style_batch(
    data: np.ndarray, labels: list[int], labels_payload: bytes | None = None
) -> bytes:
    """A batch pickled as Python 2's cPickle wrote CIFAR-10 (protocol 2, str as BINSTRING).

    Written opcode by opcode (independent of ``pickle.Pickler``): the globals are numpy 1's
    ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``.
    """

    def s(b: bytes) -> bytes:  # SHORT_BINSTRING or BINSTRING
        return (
            (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)
        )

    def i(v: int) -> bytes:  # BININT
        return b"J" + struct.pack("<i", v)

    n, d = data.shape
    array = (
        _global("numpy.core.multiarray", "_reconstruct") + _global("numpy", "ndarray")
        + i(0) + b"\x85" + s(b"b") + b"\x87R"  # _reconstruct(ndarray, (0,), 'b')
        + b"(" + i(1) + i(n) + i(d) + b"\x86"  # state: (1, (n, d), dtype, False, raw)
        + _global("numpy", "dtype") + s(b"u1") + b"\x89\x88\x87R"  # dtype('u1', False, True)
        + b"(" + i(3) + s(b"|") + b"NNN" + i(-1) + i(-1) + i(0) + b"tb"
        + b"\x89" + s(data.tobytes()) + b"tb"
    )  # fmt: skip
    out = b"\x80\x02}(" + s(b"data") + array + s(b"labels")
    out += labels_payload or (b"](" + b"".join(i(v) for v in labels) + b"e")
    out += s(b"batch_label") + s(b"training batch 1 of 5") + b"u."
    return out


def test_official_python2_format_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    raw = _official_style_batch(data, [3, 0, 9])
    pickletools.dis(raw, out=io.StringIO())  # a valid pickle stream
    path = tmp_path / "data_batch_1"
    path.write_bytes(raw)
    got = load_restricted(path)
    assert got[b"data"].dtype == np.uint8 and got[b"data"].shape == (3, 3072)
    np.testing.assert_array_equal(got[b"data"], data)
    assert got[b"labels"] == [3, 0, 9] and got[b"batch_label"] == b"training batch 1 of 5"


def test_code_in_an_official_style_batch_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    code = f"open({str(marker)!r}, 'w').close()".encode()
    payload = _global("__builtin__", "eval") + b"U" + bytes([len(code)]) + code + b"\x85R"
    raw = _official_style_batch(np.zeros((1, 3072), np.uint8), [], labels_payload=payload)
    pickle.loads(raw)  # control: plain pickle (fix_imports maps __builtin__) runs it
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "data_batch_2"
    path.write_bytes(raw)
    with pytest.raises(UnsafePickleError, match=rf"{path}.*__builtin__\.eval"):
        load_restricted(path)
    assert not marker.exists()


def test_unpickler_class_refuses_by_default(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"\x80\x02" + _global("os", "getcwd") + b")R.")
    with open(path, "rb") as f, pytest.raises(UnsafePickleError, match="the-source"):
        RestrictedUnpickler(f, source="the-source").load()


@pytest.mark.skipif(
    not (REAL_DATA and (Path(REAL_DATA) / "cifar-10-batches-py" / "test_batch").is_file()),
    reason="DLCOURSE_DATA does not hold cifar-10-batches-py/",
)
def test_real_batches_use_only_allowed_globals() -> None:
    folder = Path(str(REAL_DATA)) / "cifar-10-batches-py"
    seen: set[tuple[str, str]] = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            seen.add((module, name))
            return super().find_class(module, name)

    for name in ("test_batch", "batches.meta"):
        with open(folder / name, "rb") as f:
            Recording(f, encoding="bytes").load()  # the course's own copy: trusted here
        batch = load_restricted(folder / name)
        assert isinstance(batch, dict)
    assert seen and seen <= set(NUMPY_ARRAY_GLOBALS)
    assert load_restricted(folder / "test_batch")[b"data"].shape == (10000, 3072)
