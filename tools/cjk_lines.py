"""Find (and optionally join) line breaks between two CJK characters inside Markdown paragraphs.

Browsers render such a break as a visible space in Chinese text. Usage:
    python tools/cjk_lines.py [--fix] [paths...]   (default: every .md and .ipynb under book/)
Exit status 1 when breaks are found and --fix is not given.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
BREAK = re.compile(rf"(?<=[{CJK}])\n(?=[{CJK}])")
BLOCK_START = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|#|\||\$\$|```|:::|>|\{)")


def join_breaks(text: str) -> tuple[str, int]:
    """Return ``text`` with CJK–CJK line breaks removed outside code fences and math blocks."""
    out: list[str] = []
    count = 0
    in_fence = False
    in_math = False
    for line in text.split("\n"):
        stripped = line.strip()
        starts_fence = stripped.startswith("```") or stripped.startswith(":::")
        if starts_fence:
            in_fence = not in_fence if stripped.startswith("```") else in_fence
        if stripped.startswith("$$"):
            in_math = not in_math if stripped.count("$$") == 1 else in_math
        prev = out[-1] if out else ""
        can_join = (
            out
            and not in_fence
            and not in_math
            and not starts_fence
            and stripped
            and prev.strip()
            and not BLOCK_START.match(line)
            and BREAK.search(prev[-1:] + "\n" + stripped[:1])
        )
        if can_join:
            out[-1] = prev + stripped
            count += 1
        else:
            out.append(line)
    return "\n".join(out), count


def process(path: Path, fix: bool) -> int:
    if path.suffix == ".md":
        text = path.read_text(encoding="utf-8")
        new, n = join_breaks(text)
        if fix and n:
            path.write_text(new, encoding="utf-8")
        return n
    nb = json.loads(path.read_text(encoding="utf-8"))
    total = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        src = "".join(cell["source"])
        new, n = join_breaks(src)
        total += n
        if n:
            lines = new.split("\n")
            cell["source"] = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    if fix and total:
        path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return total


def main(argv: list[str]) -> int:
    fix = "--fix" in argv
    args = [a for a in argv if a != "--fix"]
    paths = [Path(a) for a in args] or sorted(
        p for p in Path("book").rglob("*") if p.suffix in {".md", ".ipynb"}
    )
    found = 0
    for path in paths:
        n = process(path, fix)
        if n:
            print(f"{path}: {n} CJK line break(s){' joined' if fix else ''}")
        found += n
    return 0 if fix or not found else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
