"""Write a table of contents that holds one chapter of the book, to build that chapter alone.

The chapter's ``index`` page becomes the root and its sections become numbered chapters, taken
from ``_toc.yml`` so that the subset follows the real book. CI uses it to build chapter 1
without any dataset (the fallback to the embedded 8×8 digits); an author can use it to build
the chapter they are writing::

    python tools/toc_subset.py book/01_basics -o /tmp/toc.yml --config-out /tmp/config.yml
    jupyter-book build . --toc /tmp/toc.yml --config /tmp/config.yml --path-output /tmp/ch1 \
        -W --keep-going

A chapter links pages outside it (its index links the labs page, ``{ref}`labs-lab1```), which a
one-chapter build cannot resolve. ``--config-out`` writes the book's ``_config.yml`` with those
two warning types (``ref.doc``, ``ref.ref``) suppressed and its local extension paths made
absolute (jupyter-book resolves them next to the config file); the whole book's build keeps
every reference checked with ``-W``.

Usage: ``python tools/toc_subset.py CHAPTER_DIR [-o OUT] [--toc _toc.yml]
[--config-out OUT] [--config _config.yml]``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def _chapters(toc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        yield from part.get("chapters", [])


def chapter_toc(toc: dict[str, Any], chapter: str) -> dict[str, Any]:
    """The table of contents of ``chapter`` alone (e.g. ``"book/01_basics"``).

    Args:
        toc: ``_toc.yml`` as loaded by ``yaml.safe_load`` (``jb-book`` format).
        chapter: the chapter's folder, relative to the book root.

    Raises:
        ValueError: no chapter of ``toc`` has ``<chapter>/index`` as its file.
    """
    root = f"{chapter.rstrip('/')}/index"
    for entry in _chapters(toc):
        if entry.get("file") == root:
            sections = [{"file": s["file"]} for s in entry.get("sections", []) if "file" in s]
            return {
                "format": "jb-book",
                "root": root,
                "parts": [{"caption": chapter, "numbered": True, "chapters": sections}],
            }
    known = [e.get("file") for e in _chapters(toc)]
    raise ValueError(f"chapter: expected one of {known} without '/index', got {chapter!r}")


def chapter_config(config: dict[str, Any], root: Path) -> dict[str, Any]:
    """The book's config for a one-chapter build (see the module docstring).

    Args:
        config: ``_config.yml`` as loaded by ``yaml.safe_load``.
        root: the book's root folder, against which local extension paths are made absolute.
    """
    out = dict(config)
    sphinx = dict(out.get("sphinx", {}))
    local = sphinx.get("local_extensions") or {}
    sphinx["local_extensions"] = {k: str((root / v).resolve()) for k, v in local.items()}
    conf = dict(sphinx.get("config", {}))
    conf["suppress_warnings"] = [*conf.get("suppress_warnings", []), "ref.doc", "ref.ref"]
    sphinx["config"] = conf
    out["sphinx"] = sphinx
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", help="chapter folder, e.g. book/01_basics")
    parser.add_argument("-o", "--output", help="file to write (default: stdout)")
    parser.add_argument("--toc", default="_toc.yml", help="the book's table of contents")
    parser.add_argument("--config-out", help="also write the chapter's config file there")
    parser.add_argument("--config", default="_config.yml", help="the book's config file")
    args = parser.parse_args(argv)
    if args.config_out:
        config_path = Path(args.config)
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        Path(args.config_out).write_text(
            yaml.safe_dump(chapter_config(config, config_path.parent), sort_keys=False,
                           allow_unicode=True), encoding="utf-8")
    toc = yaml.safe_load(Path(args.toc).read_text(encoding="utf-8"))
    try:
        subset = chapter_toc(toc, args.chapter)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    text = yaml.safe_dump(subset, sort_keys=False, allow_unicode=True)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
