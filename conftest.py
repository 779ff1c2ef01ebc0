"""Repository-wide pytest setup: loaded before tests/ and book/ are collected."""

import os

# Notebooks and experiments run their small CI configuration under pytest; the executed
# notebook kernels inherit this environment.
os.environ.setdefault("DLCOURSE_QUICK", "1")
