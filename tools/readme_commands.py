"""Print the README's two commands, one per line, so that CI runs them verbatim.

The commands are the lines of the first fenced ``bash`` block of README.md, without their
trailing ``# comments``: the set-up (``pip install -r requirements.txt && jupyter-book build
...``), then the test command (``pytest``). Exits with status 1 and a message if the block is
missing or does not hold exactly that, so a README edit cannot silently change what CI proves.

Usage: ``python tools/readme_commands.py [README.md]``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_FENCE = re.compile(r"^```bash[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_COMMENT = re.compile(r"\s+#.*$")


def readme_commands(text: str) -> list[str]:
    """The commands of the first ```` ```bash ```` block of ``text`` (comments removed).

    Raises:
        ValueError: no such block, or it does not hold the set-up and then ``pytest``.
    """
    match = _FENCE.search(text)
    if match is None:
        raise ValueError("README.md: expected a ```bash block with the two commands, found none")
    commands = [_COMMENT.sub("", ln).strip() for ln in match.group(1).splitlines()]
    commands = [c for c in commands if c and not c.startswith("#")]
    if (
        len(commands) != 2
        or not commands[0].startswith("pip install -r requirements.txt")
        or not commands[1].startswith("pytest")
    ):
        raise ValueError(
            "README.md: expected the first ```bash block to hold two commands, "
            f"'pip install -r requirements.txt ...' then 'pytest ...', got {commands}"
        )
    return commands


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "README.md")
    try:
        commands = readme_commands(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(commands))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
