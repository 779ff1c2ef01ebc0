"""Test suites that run only when their marker is asked for (``pytest -m browser``, ``-m pdf``).

They check a built artefact (the HTML book, the PDF), so a plain ``pytest`` skips them and says
how to run them; asked for but missing what they need, the run stops with an error instead of
skipping, so that CI cannot pass without having looked.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest


def run_on_request(
    config: pytest.Config,
    items: list[pytest.Item],
    marker: str,
    how: str,
    missing: Callable[[pytest.Config], list[str]],
) -> None:
    """Skip the ``marker`` items unless ``-m`` names it; then fail on ``missing(config)``."""
    ours = [item for item in items if item.get_closest_marker(marker)]
    if not ours:
        return
    if marker not in (config.getoption("markexpr") or ""):
        skip = pytest.mark.skip(reason=how)
        for item in ours:
            item.add_marker(skip)
        return
    problems = missing(config)
    if problems:
        raise pytest.UsageError(
            f"{marker} tests asked for (-m {marker}), but " + "; ".join(problems)
        )
