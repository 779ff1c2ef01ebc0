"""The package map of ARCHITECTURE.md is true: every module of dlcourse/ sits in exactly one
row, and no module imports from a higher row (the layers contract of import-linter, checked
here with ``ast`` so that it needs no extra tool and sees imports inside functions too)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dlcourse"


def _layers() -> list[tuple[str, list[str]]]:
    """``(layer, [module prefix, ...])`` for each row of the package map, lowest first."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Package map (dlcourse/)", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        prefixes = []
        for token in re.findall(r"`([^`]+)`", cells[1]):
            name = token.removesuffix(".py").removesuffix("/").replace("/", ".")
            prefixes.append(f"dlcourse.{name}")
        rows.append((cells[0], prefixes))
    return rows


LAYERS = _layers()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer_of(module: str) -> int | None:
    """Index of the row whose module (or package) is ``module`` or contains it."""
    if module == "dlcourse":
        return 0  # the package root (lazy submodule access) counts as core
    hits = [
        i for i, (_, prefixes) in enumerate(LAYERS)
        for p in prefixes if module == p or module.startswith(p + ".")
    ]
    return hits[0] if len(hits) == 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, dlcourse module)`` for every import of a dlcourse module in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("dlcourse")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "dlcourse":  # from dlcourse import functional as F
                out += [(node.lineno, f"dlcourse.{a.name}") for a in node.names]
            elif node.module.startswith("dlcourse."):
                out.append((node.lineno, node.module))
    return out


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_table_has_the_expected_rows() -> None:
    names = [name for name, _ in LAYERS]
    assert names[0] == "core" and "nn" in names and names[-1] == "grading", names
    assert names.index("nn") < names.index("training") < names.index("models")


def test_every_listed_module_exists() -> None:
    for layer, prefixes in LAYERS:
        for p in prefixes:
            rel = Path(*p.split(".")[1:])
            assert (PACKAGE / rel).is_dir() or (PACKAGE / rel).with_suffix(".py").is_file(), (
                f"ARCHITECTURE.md lists `{p}` in the {layer} row, but it does not exist"
            )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_is_in_exactly_one_row(path: Path) -> None:
    module = _module_name(path)
    if module == "dlcourse":
        return
    assert _layer_of(module) is not None, (
        f"{module} is in no row (or in several) of ARCHITECTURE.md's package map"
    )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    module = _module_name(path)
    own = _layer_of(module)
    if own is None:
        return  # reported by the test above
    for line, imported in _imports(path):
        layer = _layer_of(imported)
        assert layer is not None, f"{path.name}:{line} imports {imported}, which is in no row"
        assert layer <= own, (
            f"{path.relative_to(ROOT)}:{line}: {module} ({LAYERS[own][0]}) imports {imported} "
            f"({LAYERS[layer][0]}), a higher layer of ARCHITECTURE.md's package map"
        )


def test_the_checker_catches_a_violation() -> None:
    """The rule itself: nn importing models would be reported."""
    nn, models = _layer_of("dlcourse.nn.linear"), _layer_of("dlcourse.models.mlp")
    assert nn is not None and models is not None and models > nn
