"""The sweep's pytest setup.

Hypothesis' report of a failing example looks through ``sys.modules`` and touches
``mypy_extensions.TypedDict``, whose DeprecationWarning the project's ``filterwarnings =
["error"]`` turns into an INTERNALERROR that hides the failure; it is ignored here.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
    )
