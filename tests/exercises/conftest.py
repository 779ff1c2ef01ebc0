"""Graded tests: install the grading plugin (marker, target selection, skip guard, report).

See :mod:`dlcourse.grading` for how graded tests are written.
"""

from __future__ import annotations

import pytest

from dlcourse.grading.plugin import GradingPlugin


def pytest_configure(config: pytest.Config) -> None:
    GradingPlugin.install(config)
