"""Generate ``exercises/`` from ``solutions/``: every answer region becomes a stub.

In ``solutions/<module>.py`` an answer sits between two marker lines::

    def forward(self, x: np.ndarray) -> np.ndarray:
        \"\"\"... shapes ...\"\"\"
        # BEGIN SOLUTION lab1.linear_forward
        self.x = x
        return x @ self.W.data + self.b.data
        # END SOLUTION

and ``exercises/<module>.py`` gets, at the indentation of the ``BEGIN`` line::

        raise NotImplementedError("exercise lab1.linear_forward")

Rules checked here (a violation raises :class:`MarkerError` naming file and line):

- ids are ``<module>.<name>`` with ``<module>`` the file's name and ``<name>`` in
  ``[a-z][a-z0-9_]*``;
- regions do not nest and every ``BEGIN`` has its ``END``;
- one id may label several regions (a class's ``forward`` and ``backward``) only when they lie
  in the same top-level ``class``/``def``; the same id elsewhere is a copy-paste mistake.

Put the ``return`` inside the region: code after ``END`` is unreachable in the stub.

Usage: ``python -m dlcourse.grading.make_exercises [--check] [--root PATH]``. ``--check``
writes nothing and exits 1 listing the stale files.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MarkerError",
    "Region",
    "parse_regions",
    "make_stub_source",
    "expected_exercises",
    "generate",
    "stale_files",
    "exercise_ids",
    "stub_only",
    "main",
]

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION[ \t]+(?P<id>\S+)[ \t]*$")
_END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TOPLEVEL = re.compile(r"^(?:async[ \t]+)?(?:class|def)[ \t]+(?P<name>\w+)")
HEADER = (
    "# GENERATED from solutions/{name} by `python -m dlcourse.grading.make_exercises`\n"
    "# — edit solutions/, not this file.\n"
    "# ruff: noqa: F401, F841\n"
)


class MarkerError(ValueError):
    """A malformed ``# BEGIN SOLUTION`` / ``# END SOLUTION`` region."""


@dataclass(frozen=True)
class Region:
    """One answer region: ``lines[begin]`` is the BEGIN marker and ``lines[end]`` the END one.

    Attributes:
        exercise_id: e.g. ``"lab1.linear_forward"``.
        begin, end: 0-based line numbers of the two markers.
        indent: the BEGIN line's leading whitespace, reused for the stub.
        owner: the enclosing top-level ``class``/``def`` name (``""`` at module level).
    """

    exercise_id: str
    begin: int
    end: int
    indent: str
    owner: str


def parse_regions(text: str, filename: str) -> list[Region]:
    """Find and validate the answer regions of one solutions file.

    Args:
        text: the file's source.
        filename: its name, e.g. ``"lab1.py"``; the stem is the required id prefix.

    Raises:
        MarkerError: unclosed, nested or stray markers, bad ids, misplaced duplicate ids.
    """
    module = Path(filename).stem
    regions: list[Region] = []
    open_at: int | None = None
    open_id = open_indent = open_owner = owner = ""
    first_owner: dict[str, tuple[str, int]] = {}
    for i, line in enumerate(text.splitlines()):
        where = f"{filename}:{i + 1}"
        top = _TOPLEVEL.match(line)
        if top:
            owner = top.group("name")
        begin, end = _BEGIN.match(line), _END.match(line)
        if begin:
            if open_at is not None:
                raise MarkerError(
                    f"{where}: nested BEGIN SOLUTION (region {open_id!r} opened at line "
                    f"{open_at + 1} is not closed)"
                )
            ex_id = begin.group("id")
            prefix, dot, name = ex_id.partition(".")
            if prefix != module or not dot or not _NAME.match(name):
                raise MarkerError(
                    f"{where}: exercise id: expected '{module}.<name>' with <name> matching "
                    f"[a-z][a-z0-9_]*, got {ex_id!r}"
                )
            if ex_id in first_owner and first_owner[ex_id][0] != owner:
                other_owner, other_line = first_owner[ex_id]
                raise MarkerError(
                    f"{where}: duplicate exercise id {ex_id!r} (also at line {other_line} in "
                    f"{other_owner or 'module level'!r}); one id may only label regions inside "
                    f"the same top-level class or function"
                )
            first_owner.setdefault(ex_id, (owner, i + 1))
            open_at, open_id, open_indent, open_owner = i, ex_id, begin.group("indent"), owner
        elif end:
            if open_at is None:
                raise MarkerError(f"{where}: END SOLUTION without a matching BEGIN SOLUTION")
            regions.append(Region(open_id, open_at, i, open_indent, open_owner))
            open_at = None
        elif "BEGIN SOLUTION" in line or "END SOLUTION" in line:
            raise MarkerError(
                f"{where}: malformed marker {line.strip()!r}; expected "
                f"'# BEGIN SOLUTION <id>' or '# END SOLUTION' alone on its line"
            )
    if open_at is not None:
        raise MarkerError(
            f"{filename}:{open_at + 1}: BEGIN SOLUTION {open_id!r} is never closed by END SOLUTION"
        )
    return regions


def make_stub_source(
    text: str, filename: str, stub_ids: set[str] | None = None, header: bool = True
) -> str:
    """Replace the regions of ``stub_ids`` (all if ``None``) by ``raise NotImplementedError``.

    Regions not stubbed keep their code and markers. Line endings are preserved.

    Args:
        text: source of ``solutions/<filename>``.
        filename: e.g. ``"lab1.py"``.
        stub_ids: ids to stub; ``None`` stubs every region.
        header: prepend the "GENERATED ... edit solutions/" header.
    """
    regions = parse_regions(text, filename)
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out: list[str] = [HEADER.format(name=filename).replace("\n", newline)] if header else []
    pos = 0
    for reg in regions:
        if stub_ids is not None and reg.exercise_id not in stub_ids:
            continue
        out.extend(lines[pos : reg.begin])
        out.append(f'{reg.indent}raise NotImplementedError("exercise {reg.exercise_id}"){newline}')
        pos = reg.end + 1
    out.extend(lines[pos:])
    return "".join(out)


def _solution_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "solutions").glob("*.py") if p.name != "__init__.py")


def expected_exercises(root: Path) -> dict[Path, str]:
    """Path in ``exercises/`` -> the text it must have, for every ``solutions/*.py``."""
    return {
        root / "exercises" / src.name: make_stub_source(src.read_text(encoding="utf-8"), src.name)
        for src in _solution_files(root)
    }


def _orphans(root: Path, expected: dict[Path, str]) -> list[Path]:
    """Generated files in ``exercises/`` whose solutions file no longer exists."""
    marker = "# GENERATED from solutions/"
    return [
        p
        for p in sorted((root / "exercises").glob("*.py"))
        if p not in expected and p.read_text(encoding="utf-8").startswith(marker)
    ]


def stale_files(root: Path) -> list[Path]:
    """Files of ``exercises/`` that are missing, differ from the generated text, or are orphans."""
    expected = expected_exercises(root)
    stale = [
        path
        for path, text in expected.items()
        if not path.is_file() or path.read_bytes() != text.encode("utf-8")
    ]
    return stale + _orphans(root, expected)


def generate(root: Path) -> list[Path]:
    """Write every stale exercises file (and delete orphans); return the paths changed."""
    expected = expected_exercises(root)
    (root / "exercises").mkdir(exist_ok=True)
    changed = []
    for path, text in expected.items():
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            path.write_bytes(text.encode("utf-8"))
            changed.append(path)
    for orphan in _orphans(root, expected):
        orphan.unlink()
        changed.append(orphan)
    return changed


def exercise_ids(root: Path) -> dict[str, str]:
    """Every exercise id of ``solutions/`` -> the file name that holds it, in file order."""
    ids: dict[str, str] = {}
    for src in _solution_files(root):
        for reg in parse_regions(src.read_text(encoding="utf-8"), src.name):
            ids.setdefault(reg.exercise_id, src.name)
    return ids


def stub_only(
    exercise_id: str | Iterable[str], dest_dir: str | Path, root: Path | None = None
) -> Path:
    """Copy ``solutions/`` into ``dest_dir`` with only ``exercise_id``'s regions stubbed.

    Used by the grader's gate 3 (stubbing one exercise fails exactly its tests and those of
    the exercises that depend on it). Non-Python files are copied unchanged.

    Args:
        exercise_id: one id, or several (e.g. one per module, to check them in one run).
        dest_dir: the folder to write (created if needed).
        root: the repository (default: found with ``repo_root``).

    Raises:
        KeyError: an id labels no region.
    """
    if root is None:
        from dlcourse.grading.impl import repo_root

        root = repo_root()
    wanted = {exercise_id} if isinstance(exercise_id, str) else set(exercise_id)
    ids = exercise_ids(root)
    unknown = sorted(wanted - set(ids))
    if unknown:
        raise KeyError(f"exercise_id: no region labelled {unknown}; known: {sorted(ids)}")
    files = {ids[e] for e in wanted}
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    for src in sorted((root / "solutions").iterdir()):
        if not src.is_file():
            continue
        if src.name in files:
            text = src.read_text(encoding="utf-8")
            stubbed = make_stub_source(text, src.name, wanted, header=False)
            (dest / src.name).write_bytes(stubbed.encode("utf-8"))
        else:
            shutil.copyfile(src, dest / src.name)
    return dest


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate ``exercises/`` or, with ``--check``, list stale files."""
    parser = argparse.ArgumentParser(
        prog="python -m dlcourse.grading.make_exercises", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    parser.add_argument("--root", type=Path, default=None, help="repository (default: found)")
    args = parser.parse_args(argv)
    if args.root is None:
        from dlcourse.grading.impl import repo_root

        args.root = repo_root()
    root = args.root.resolve()
    try:
        if args.check:
            stale = stale_files(root)
            for path in stale:
                print(f"stale: {path.relative_to(root)}", file=sys.stderr)
            if stale:
                print(
                    "exercises/ is out of date: run `python -m dlcourse.grading.make_exercises`",
                    file=sys.stderr,
                )
                return 1
            return 0
        for path in generate(root):
            print(f"wrote {path.relative_to(root)}")
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
