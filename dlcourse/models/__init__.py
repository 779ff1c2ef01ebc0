"""The course's networks, built from ``dlcourse.nn`` layers."""

from dlcourse.models.mlp import MLP

__all__ = ["MLP"]
