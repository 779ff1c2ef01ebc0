"""The top-level package: lazy submodule access and version."""

import pytest

import dlcourse


def test_submodules_load_lazily() -> None:
    assert dlcourse.nn.Linear(3, 2).W.data.shape == (3, 2)
    assert "functional" in dir(dlcourse)


def test_unknown_attribute_is_a_clear_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = dlcourse.nope


def test_version_matches_pyproject() -> None:
    from importlib.metadata import version

    assert version("dlcourse") == dlcourse.__version__
