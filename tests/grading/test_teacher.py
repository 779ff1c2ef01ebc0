"""Teacher mode (``dlcourse grade --submissions DIR``): one CSV, one report per student, and a
hostile submission changes nothing for the others (``dlcourse/grading/teacher.py``)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

from dlcourse.grading import repo_root

ROOT = repo_root()

HOSTILE = """
import atexit as _atexit
import os as _os


def _spoil():
    for name in ("grades.csv", "alice.json"):
        with open(_os.path.join(OUT, name), "w") as fh:
            fh.write("spoiled")
    with open("left_behind.txt", "w") as fh:
        fh.write("x")


_atexit.register(_spoil)
_spoil()
_os._exit(0)
"""


def test_submissions_are_graded_apart(tmp_path: Path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    shutil.copytree(ROOT / "solutions", subs / "alice")
    shutil.copytree(ROOT / "exercises", subs / "bob")
    bob = subs / "bob" / "lab1.py"
    bob.write_text(bob.read_text(encoding="utf-8") + f"\nOUT = {str(out)!r}\n" + HOSTILE,
                   encoding="utf-8")
    shutil.copytree(ROOT / "solutions", subs / "carol")
    (subs / "carol" / "lab1.py").write_text("def broken(:\n", encoding="utf-8")
    out.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", "grade", "lab1.softmax_ce", "lab2.relu",
         "--submissions", str(subs), "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "grades.csv", encoding="utf-8") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"alice", "bob", "carol"}
    assert (rows["alice"]["earned"], rows["alice"]["points"]) == ("5", "5")
    assert rows["bob"]["lab1.softmax_ce"] == "0" and rows["bob"]["lab2.relu"] == "0"
    assert rows["carol"]["lab1.softmax_ce"] == "0" and rows["carol"]["lab2.relu"] == "2"
    alice = json.loads((out / "alice.json").read_text(encoding="utf-8"))
    assert alice["total"]["percent"] == 100.0
    bob = json.loads((out / "bob.json").read_text(encoding="utf-8"))
    assert all("crashed" in t["message"] for t in bob["tests"].values()
               if t["exercise"] == "lab1.softmax_ce")
    assert not (ROOT / "left_behind.txt").exists() and not (tmp_path / "left_behind.txt").exists()
    assert "alice  5/5  (100%)  complete" in proc.stdout


def test_ctrl_c_in_the_parent_interrupts_and_the_tree_is_named(tmp_path: Path) -> None:
    import os
    import signal
    import time

    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "solutions", tree)
    lab1 = tree / "lab1.py"
    text = lab1.read_text(encoding="utf-8")
    old = "    N = logits.shape[0]\n"
    lab1.write_text(text.replace(old, "    import time\n\n    time.sleep(60)\n" + old),
                    encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlcourse.cli", "grade", "lab1", "--json", str(tmp_path / "r.json")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "DLCOURSE_IMPL": str(tree)},
        # SIGINT is ignored in a shell's background job (CI may run pytest that way) and the
        # child would inherit that: give it the default disposition, as a terminal's Ctrl-C has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(20)  # the lab 1 tests before softmax_ce pass; softmax_ce sleeps
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert out.startswith(f"graded: {tree} (from $DLCOURSE_IMPL)"), out
    assert "grading was interrupted" in out
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["status"] == "interrupted"
    assert any(t["message"] == "not run (interrupted)" for t in report["tests"].values())
