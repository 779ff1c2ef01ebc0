"""Print how long the book build took to execute each notebook, slowest first.

Reads the execution records that ``book/_ext/executed_notebooks.py`` writes next to the
executed copies (``<build>/jupyter_execute/**/*.execution.json``) and marks the notebooks over
the budget (default 120 s, the project's limit per notebook in quick mode). A notebook served
from the jupyter cache shows the runtime of the execution that filled the cache.

Usage: ``python tools/notebook_times.py [BUILD_DIR=_build] [--budget SECONDS]``
Exit status 0 even when a notebook is over budget (timings on shared machines vary); the
report is for reading.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SUFFIX = ".execution.json"


def notebook_times(build_dir: Path) -> list[tuple[str, str, float | None]]:
    """``(page, mode, runtime in seconds or None)`` for each record under ``build_dir``."""
    base = build_dir / "jupyter_execute"
    rows = []
    for path in sorted(base.rglob(f"*{SUFFIX}")):
        record = json.loads(path.read_text(encoding="utf-8"))
        page = path.relative_to(base).as_posix()[: -len(SUFFIX)]
        runtime = record.get("runtime_s")
        rows.append((page, str(record.get("mode")), None if runtime is None else float(runtime)))
    rows.sort(key=lambda r: -1.0 if r[2] is None else r[2], reverse=True)
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", nargs="?", default="_build", type=Path)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per notebook")
    args = parser.parse_args(argv)
    rows = notebook_times(args.build_dir)
    if not rows:
        print(f"no execution records under {args.build_dir}/jupyter_execute")
        return 0
    total = 0.0
    for page, mode, runtime in rows:
        if runtime is None:
            print(f"      ?  {mode:5}  {page}")
            continue
        total += runtime
        flag = f"  OVER the {args.budget:g} s budget" if runtime > args.budget else ""
        print(f"{runtime:7.1f} s  {mode:5}  {page}{flag}")
    print(f"{total:7.1f} s  total, {len(rows)} notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
