"""Record how the book build executed each notebook, so that ``pytest`` need not run it again.

One module, loaded two ways:

- by Sphinx, as a local extension (``_config.yml``: ``sphinx.local_extensions``), during
  ``jupyter-book build``;
- by the repository's ``conftest.py``, which decides per notebook whether nbval must execute it
  or whether the build's executed copy already proves that it runs.

**Execution key.** What a notebook's outputs depend on, besides its own code cells: the mode
(``quick`` or ``full``, from ``DLCOURSE_QUICK`` exactly as :mod:`dlcourse.config` reads it) and a
fingerprint (SHA-256) of the files under ``dlcourse/`` and ``book/results/``, of
``requirements.txt``, of the Python and numpy versions and of the data settings
(``DLCOURSE_DATA``, ``DLCOURSE_MIRROR``, ``DLCOURSE_CACHE``, ``DLCOURSE_OFFLINE``).

**Build side.**

1. ``config-inited``: the jupyter cache (``execute_notebooks: cache``) is put in
   ``<build>/.jupyter_cache/<mode>/``, one per mode, so a full-mode build never shows outputs
   executed in quick mode; a cache whose stored fingerprint differs from the current one is
   emptied, so changing the package re-executes every notebook instead of showing stale
   outputs. The key is also the Sphinx config value ``dlcourse_execution_key`` (rebuild
   ``env``), so when it changes Sphinx re-reads every page.
2. ``doctree-read``: next to myst-nb's executed copy ``<build>/jupyter_execute/<doc>.ipynb``
   it writes ``<doc>.execution.json`` (the key, whether execution succeeded, its runtime and
   time). The two files are written together, for the same page, in the same read. A copy
   of a notebook taken from the cache gets its outputs back (:func:`restore_cached_outputs`).

**pytest side.** :func:`check_executed_copy` returns the reasons, if any, why a copy cannot
stand in for executing the source notebook: no copy or record; recorded in another mode or with
another fingerprint; execution not successful; code cells that differ from the source; a code
cell left unexecuted; an error output in a cell not tagged ``raises-exception``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from dlcourse.config import quick_mode

#: Folders and files (relative to the repository root) whose content the notebooks' outputs
#: depend on, besides the notebooks themselves.
FINGERPRINT_PATHS: tuple[str, ...] = ("dlcourse", "book/results", "requirements.txt")
#: Environment variables that change which data a notebook loads.
FINGERPRINT_ENV: tuple[str, ...] = (
    "DLCOURSE_DATA",
    "DLCOURSE_MIRROR",
    "DLCOURSE_CACHE",
    "DLCOURSE_OFFLINE",
)
#: Name of the execution record written next to each executed copy.
RECORD_SUFFIX = ".execution.json"
#: File in each per-mode jupyter cache that holds the fingerprint its notebooks ran with.
CACHE_KEY_FILE = "dlcourse-fingerprint.json"
_SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def _files(root: Path, rel: str) -> Iterable[Path]:
    path = root / rel
    if path.is_file():
        yield path
    elif path.is_dir():
        for p in sorted(path.rglob("*")):
            if (
                p.is_file()
                and not _SKIPPED_PARTS.intersection(p.relative_to(root).parts)
                and not p.name.endswith(".egg-info")
                and p.suffix not in _SKIPPED_SUFFIXES
            ):
                yield p


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def fingerprint(root: Path) -> str:
    """SHA-256 (hex) of everything but the code cells that a notebook's outputs depend on.

    Args:
        root: the repository root.

    Returns:
        A 64-character hex digest; it changes when any file under :data:`FINGERPRINT_PATHS`,
        the Python or numpy version, or a variable of :data:`FINGERPRINT_ENV` changes.
    """
    h = hashlib.sha256()
    h.update(f"python {platform.python_version()} numpy {_version('numpy')}\n".encode())
    for name in FINGERPRINT_ENV:
        h.update(f"{name}={os.environ.get(name, '')}\n".encode())
    for rel in FINGERPRINT_PATHS:
        for path in _files(root, rel):
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


@dataclass(frozen=True)
class ExecutionKey:
    """The mode and fingerprint a notebook's outputs were (or would be) produced with."""

    mode: str  # "quick" or "full"
    fingerprint: str

    @classmethod
    def current(cls, root: Path) -> ExecutionKey:
        """The key of an execution started now, from ``root`` and ``os.environ``."""
        return cls("quick" if quick_mode() else "full", fingerprint(root))

    def __str__(self) -> str:
        return f"{self.mode}:{self.fingerprint[:16]}"


def executed_copy_path(build_dir: Path, docname: str) -> Path:
    """Where myst-nb writes the executed copy of page ``docname`` (e.g. ``book/01_basics/x``)."""
    return build_dir / "jupyter_execute" / f"{docname}.ipynb"


def record_path(copy: Path) -> Path:
    """The execution record that belongs to the executed copy ``copy``."""
    return copy.with_name(copy.name[: -len(".ipynb")] + RECORD_SUFFIX)


# --------------------------------------------------------------------------------------------
# pytest side
# --------------------------------------------------------------------------------------------


def _cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _tags(cell: dict[str, Any]) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def check_executed_copy(source: Path, copy: Path, key: ExecutionKey) -> list[str]:
    """Reasons why ``copy`` does not prove that ``source`` runs now (empty list: it does).

    Args:
        source: the notebook under ``book/`` (stored without outputs).
        copy: its executed copy written by the book build (see :func:`executed_copy_path`).
        key: the execution key the test run would execute ``source`` with.

    Returns:
        Human-readable reasons; the first one is the most basic.
    """
    rec_path = record_path(copy)
    if not copy.is_file() or not rec_path.is_file():
        return ["no executed copy from a book build"]
    try:
        record = json.loads(rec_path.read_text(encoding="utf-8"))
        executed = json.loads(copy.read_text(encoding="utf-8"))
        original = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"unreadable executed copy or record: {exc}"]
    problems: list[str] = []
    if record.get("mode") != key.mode:
        problems.append(f"the build ran in {record.get('mode')} mode, this run uses {key.mode}")
    elif record.get("fingerprint") != key.fingerprint:
        problems.append(
            "dlcourse/, book/results/, requirements.txt, the Python/numpy version or the "
            "data settings changed since the build"
        )
    if record.get("succeeded") is not True:
        problems.append("the build's execution did not succeed")
    src_cells, run_cells = _cells(original), _cells(executed)
    if [_source(c) for c in src_cells] != [_source(c) for c in run_cells]:
        problems.append("the code cells changed since the build")
        return problems
    for i, cell in enumerate(run_cells):
        if not _source(cell).strip() or "skip-execution" in _tags(cell):
            continue
        if cell.get("execution_count") is None:
            problems.append(f"code cell {i} was not executed")
            break
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and "raises-exception" not in _tags(cell):
            problems.append(f"code cell {i} raised {errors[0].get('ename', 'an error')}")
            break
    return problems


# --------------------------------------------------------------------------------------------
# Sphinx side
# --------------------------------------------------------------------------------------------


def _repo_root(app: Any) -> Path:
    return Path(app.srcdir).resolve()


def _build_dir(app: Any) -> Path:
    return Path(app.outdir).resolve().parent


def _prepare_cache(cache: Path, key: ExecutionKey) -> bool:
    """Create ``cache`` for ``key``; empty it first if it holds another fingerprint.

    Returns:
        True when an existing cache was emptied.
    """
    stamp = cache / CACHE_KEY_FILE
    emptied = False
    if cache.exists():
        try:
            stored = json.loads(stamp.read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, ValueError):
            stored = None
        if stored != key.fingerprint:
            shutil.rmtree(cache)
            emptied = True
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(asdict(key)) + "\n", encoding="utf-8")
    return emptied


def _on_config_inited(app: Any, config: Any) -> None:
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    key = ExecutionKey.current(_repo_root(app))
    cache = _build_dir(app) / ".jupyter_cache" / key.mode
    if _prepare_cache(cache, key):
        logger.info(f"[executed_notebooks] {cache} emptied: the execution fingerprint changed")
    config.nb_execution_cache_path = str(cache)
    config.dlcourse_execution_key = str(key)
    app.dlcourse_execution_key = key
    logger.info(f"[executed_notebooks] execution key {key}, jupyter cache {cache}")


def restore_cached_outputs(copy: Path, cache_path: Path) -> bool:
    """Put the cached outputs back into an executed copy that myst-nb wrote without them.

    myst-nb 1.4, when it takes a notebook from the jupyter cache instead of executing it,
    merges the cached outputs into a new notebook object but writes the original one: the copy
    in ``jupyter_execute/`` has no output and no execution count (its pages are right). Every
    build that hits the cache (a PDF build after the HTML one, an incremental rebuild) would
    leave copies that prove nothing, so pytest would execute those notebooks again. Returns
    True when the copy was rewritten.
    """
    import nbformat
    from jupyter_cache import get_cache

    notebook = nbformat.read(copy, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if not code or any(cell.get("outputs") or cell.get("execution_count") for cell in code):
        return False
    try:
        _, merged = get_cache(str(cache_path)).merge_match_into_notebook(notebook)
    except KeyError:  # not in the cache (it was emptied): leave the copy as it is
        return False
    copy.write_text(nbformat.writes(merged), encoding="utf-8")
    return True


def _on_doctree_read(app: Any, doctree: Any) -> None:
    env = app.env
    docname = env.docname
    if Path(env.doc2path(docname)).suffix != ".ipynb":
        return
    copy = executed_copy_path(_build_dir(app), docname)
    rec_path = record_path(copy)
    rec_path.unlink(missing_ok=True)
    exec_data = getattr(env, "nb_metadata", {}).get(docname, {}).get("exec_data")
    if not exec_data or not copy.is_file():
        return
    if exec_data.get("method") == "cache":
        restore_cached_outputs(copy, Path(app.config.nb_execution_cache_path))
    key: ExecutionKey = app.dlcourse_execution_key
    record = {
        "mode": key.mode,
        "fingerprint": key.fingerprint,
        "succeeded": bool(exec_data.get("succeeded")),
        "method": exec_data.get("method"),
        "runtime_s": exec_data.get("runtime"),
        "executed_at": exec_data.get("mtime"),
    }
    rec_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point: register the config value and the two event handlers."""
    app.add_config_value("dlcourse_execution_key", "", "env", str)
    # After jupyter-book's own config handling, before myst-nb reads the cache path.
    app.connect("config-inited", _on_config_inited, priority=900)
    app.connect("doctree-read", _on_doctree_read)
    # Handlers keep no state in the environment: safe in parallel reads (sphinx -j).
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
