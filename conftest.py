"""Repository-wide pytest setup: loaded before tests/ and book/ are collected.

- ``DLCOURSE_QUICK=1`` unless it is already set: notebooks and experiments run their small
  configuration (the executed notebook kernels inherit this environment).
- Notebooks under ``book/`` are executed by nbval (``--nbval-lax`` in ``pyproject.toml``),
  **unless the book build has already executed exactly this notebook**: same code cells, same
  mode (quick/full), same package and data settings, every cell run, no error (the rules are
  in ``book/_ext/executed_notebooks.py``, which the build uses to record its executions). Then
  one test item checks the build's executed copy in ``_build/jupyter_execute`` instead, so CI,
  which builds the book first, runs each notebook once. A plain ``pytest`` without a build
  still executes every notebook; ``pytest --execute-notebooks`` always does.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

os.environ.setdefault("DLCOURSE_QUICK", "1")

ROOT = Path(__file__).resolve().parent
BOOK = ROOT / "book"
_EXT_PATH = BOOK / "_ext" / "executed_notebooks.py"
_EXT_NAME = "_dlcourse_executed_notebooks"


def _executed_notebooks() -> ModuleType:
    """The build's execution-record module (loaded once, only when notebooks are collected)."""
    if _EXT_NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_EXT_NAME, _EXT_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_EXT_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_EXT_NAME]


@dataclass
class _Reuse:
    key: Any  # executed_notebooks.ExecutionKey of this test run
    build_dir: Path
    reused: list[str] = field(default_factory=list)
    executed: dict[str, str] = field(default_factory=dict)  # docname -> first reason


_REUSE = pytest.StashKey[_Reuse]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--execute-notebooks",
        action="store_true",
        default=False,
        help="execute every notebook under book/ with nbval, even when the book build has "
        "a fresh executed copy of it",
    )
    parser.addoption(
        "--book-build",
        default=str(ROOT / "_build"),
        metavar="DIR",
        help="the book build whose executed notebooks may be reused (default: _build; "
        "`jupyter-book build . --path-output X` builds into X/_build)",
    )
    parser.addoption(
        "--pdf-toc",
        default=str(ROOT / "_toc.yml"),
        metavar="FILE",
        help="the table of contents the PDF under --book-build was built from (tests/pdf; "
        "default: the whole book's _toc.yml)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Only nbval's lax mode ("runs without error") can be proved by an executed copy.
    if getattr(config.option, "nbval_lax", False) and not config.option.execute_notebooks:
        key = _executed_notebooks().ExecutionKey.current(ROOT)
        build_dir = Path(config.option.book_build).resolve()
        config.stash[_REUSE] = _Reuse(key, build_dir)


class BuiltNotebook(pytest.File):
    """A notebook whose execution by the book build stands in for nbval's."""

    def __init__(self, *, copy: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.copy = copy

    def collect(self) -> Generator[pytest.Item, None, None]:
        yield BuiltNotebookItem.from_parent(self, name="executed by the book build")


class BuiltNotebookItem(pytest.Item):
    """Checks, when it runs, that the build's executed copy still proves the notebook runs."""

    parent: BuiltNotebook

    def runtest(self) -> None:
        key = self.config.stash[_REUSE].key
        problems = _executed_notebooks().check_executed_copy(self.path, self.parent.copy, key)
        if problems:
            raise pytest.fail.Exception(
                f"{self.parent.copy}: " + "; ".join(problems), pytrace=False
            )

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.name}: {self.parent.copy}"


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> Generator[None, list[pytest.Collector], list[pytest.Collector]]:
    collected = yield
    reuse = parent.config.stash.get(_REUSE, None)
    if reuse is None or file_path.suffix != ".ipynb" or BOOK not in file_path.parents:
        return collected
    nbval_nodes = [c for c in collected if type(c).__module__.startswith("nbval")]
    if not nbval_nodes:
        return collected
    module = _executed_notebooks()
    docname = file_path.relative_to(ROOT).with_suffix("").as_posix()
    copy = module.executed_copy_path(reuse.build_dir, docname)
    problems = module.check_executed_copy(file_path, copy, reuse.key)
    if problems:
        reuse.executed[docname] = problems[0]
        return collected
    reuse.reused.append(docname)
    built = BuiltNotebook.from_parent(parent, path=file_path, copy=copy)
    return [c for c in collected if c not in nbval_nodes] + [built]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    reuse = config.stash.get(_REUSE, None)
    if reuse is None or not (reuse.reused or reuse.executed):
        return
    tr = terminalreporter
    tr.write_sep("-", "notebooks under book/")
    tr.write_line(
        f"{len(reuse.reused)} checked from the book build's executed copies "
        f"({reuse.key.mode} mode, {reuse.build_dir}/jupyter_execute); "
        f"{len(reuse.executed)} run by nbval"
    )
    by_reason: dict[str, list[str]] = {}
    for docname, reason in reuse.executed.items():
        by_reason.setdefault(reason, []).append(docname)
    for reason, docs in by_reason.items():
        names = ", ".join(docs) if len(docs) <= 4 else f"{len(docs)} notebooks"
        tr.write_line(f"  run by nbval ({reason}): {names}")
