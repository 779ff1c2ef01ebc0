"""pyproject.toml declares what each part of the course imports (issue 11, item 6).

Each part is a set of entry files; the test follows their ``import`` statements into the
``dlcourse`` modules they reach (the closure) and checks that every third-party module found is
provided by the core dependencies plus the part's extra (``pip install 'dlcourse[grade]'`` then
``dlcourse grade`` must work in a bare virtual environment). Imports inside functions count for
the parts that run code end to end (grading, the datasets, the book); for the libraries
(``plot``, ``widgets``, core) only imports that run on ``import`` count, since their optional
imports raise an error that names the extra.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

#: Distributions a part needs without importing them by name (loaded as pytest plugins).
PLUGINS = {"grade": {"pytest-timeout"}}


def _glob(*patterns: str) -> list[Path]:
    return sorted({p for pat in patterns for p in ROOT.glob(pat) if "__pycache__" not in p.parts})


def _core_files() -> list[Path]:
    optional = {"plot", "widgets", "grading", "data"}
    return [
        p
        for p in _glob("dlcourse/**/*.py")
        if not optional.intersection(p.relative_to(ROOT).parts) and p.name != "cli.py"
    ]


#: part -> (entry files, extra that must provide its imports or None for the core,
#:          whether imports inside functions count)
PARTS: dict[str, tuple[list[Path], str | None, bool]] = {
    "core": (_core_files(), None, False),
    "plot": (_glob("dlcourse/plot/**/*.py"), "plot", False),
    "widgets": (_glob("dlcourse/widgets/**/*.py"), "widgets", False),
    "datasets": (_glob("dlcourse/data/**/*.py"), "datasets", True),
    "grade": (
        _glob(
            "dlcourse/grading/**/*.py",
            "dlcourse/cli.py",
            "tests/exercises/**/*.py",
            "exercises/*.py",
            "solutions/*.py",
            "conftest.py",
        ),
        "grade",
        True,
    ),
    "book": (_glob("book/**/*.ipynb"), "book", True),
}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _source(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    nb = json.loads(path.read_text(encoding="utf-8"))
    lines: list[str] = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            # IPython magics and shell escapes are not Python.
            lines += [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, lazy: bool) -> set[str]:
    """Absolute names of the modules (and ``module.attr``) that ``path`` imports."""
    tree = ast.parse(_source(path), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else ""
    if not package and path.suffix == ".py":
        package = _module_name(path).rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and not lazy:
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module or ""
                found.add(module)
                found.update(f"{module}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    return found


def _module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def third_party_imports(entries: Iterable[Path], lazy: bool) -> dict[str, set[str]]:
    """Top-level third-party module -> files (relative) that import it, over the closure."""
    todo, seen = list(entries), set()
    found: dict[str, set[str]] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path, lazy):
            top = name.split(".")[0]
            if top == "dlcourse":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    file = _module_file(".".join(parts[:i]))
                    if file is not None:
                        todo.append(file)
            elif top and top not in STDLIB:
                found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def _requirements(extra: str | None) -> list[Requirement]:
    """The core dependencies plus ``extra``, self-references (``dlcourse[x]``) expanded."""
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    todo, done = ([extra] if extra else []), set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        for r in map(Requirement, PROJECT["optional-dependencies"][name]):
            if _normalize(r.name) == "dlcourse":
                todo.extend(r.extras)
            else:
                reqs.append(r)
    return reqs


@cache
def _distributions_of(module: str) -> frozenset[str]:
    return frozenset(_normalize(d) for d in metadata.packages_distributions().get(module, []))


@pytest.mark.parametrize("part", list(PARTS))
def test_every_import_of_a_part_is_declared(part: str) -> None:
    entries, extra, lazy = PARTS[part]
    assert entries, f"{part}: no entry files found"
    declared = {_normalize(r.name) for r in _requirements(extra)}
    missing = []
    for module, files in sorted(third_party_imports(entries, lazy).items()):
        dists = _distributions_of(module)
        assert dists, f"{module} (imported by {sorted(files)}) is not installed"
        if not dists & declared:
            missing.append(f"{module} ({'/'.join(sorted(dists))}) imported by {sorted(files)}")
    for plugin in PLUGINS.get(part, set()):
        if plugin not in declared:
            missing.append(f"{plugin} (loaded as a pytest plugin)")
    target = f"[{extra}]" if extra else "dependencies"
    assert not missing, f"pyproject.toml {target} lacks: " + "; ".join(missing)


def test_the_closure_sees_through_package_imports() -> None:
    """The grader's tests reach scikit-learn only through ``dlcourse.data.load_digits``."""
    found = third_party_imports([ROOT / "tests" / "exercises" / "test_lab1.py"], lazy=True)
    assert "sklearn" in found
    assert found["sklearn"] == {"dlcourse/data/datasets.py"}
    assert "sklearn" not in third_party_imports(_core_files(), lazy=False)


def test_extras_agree_with_the_installed_pins() -> None:
    """requirements.txt (installed here) satisfies every declared dependency and extra."""
    wrong = []
    for extra in [None, *PROJECT["optional-dependencies"]]:
        for req in _requirements(extra):
            try:
                version = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                wrong.append(f"{req} ({extra or 'core'}): not installed")
                continue
            if not req.specifier.contains(version, prereleases=True):
                wrong.append(f"{req} ({extra or 'core'}): installed {version}")
    assert not wrong, "; ".join(wrong)


def test_requirements_txt_installs_every_extra() -> None:
    """A reader's ``pip install -r requirements.txt`` gets what every extra names directly."""
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pinned = {
        _normalize(Requirement(ln).name)
        for ln in (line.split("#")[0].strip() for line in lines)
        if ln and not ln.startswith("-")
    }
    named = {
        _normalize(r.name)
        for extra in PROJECT["optional-dependencies"]
        for r in _requirements(extra)
    }
    # ipython comes pinned through ipykernel; it is named in [book] because notebooks import it.
    assert named - pinned <= {"ipython"}, sorted(named - pinned)
