"""Run-time switches read from the environment (see ARCHITECTURE.md, "Environment variables")."""

from __future__ import annotations

import os


def quick_mode() -> bool:
    """True when ``DLCOURSE_QUICK`` is set to a true value (CI sets ``1``).

    Notebooks and experiments then use their small, CI-sized configuration.
    """
    return os.environ.get("DLCOURSE_QUICK", "0").strip().lower() in {"1", "true", "yes", "on"}


QUICK: bool = quick_mode()
