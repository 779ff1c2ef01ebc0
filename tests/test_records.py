"""The recorded results in book/results/ stay honest and are what the book shows.

Every record names its seeds, every run, a spread that matches those runs, the machine it ran
on and the command that made it, and states how ``--check`` judges a re-run. The lab
notebooks read their numbers from the records: no Markdown cell holds a hand-typed copy of a
recorded number; such sentences are built from the record by code, in a code cell tagged
``remove-input`` that displays Markdown (HOW_TO_FIX says how and names an example cell).
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from benchmarks import _record

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "book" / "results"
RECORDS = sorted(RESULTS.glob("*.json"))
LAB_NOTEBOOKS = [ROOT / "book" / "01_basics" / "04_lab1_softmax_mnist.ipynb",
                 ROOT / "book" / "02_feedforward" / "06_lab2_mlp_mnist.ipynb"]
# every page that reads a record (chapters 3 and 4 build their sentences from it by code too)
READERS = sorted(p for p in (ROOT / "book").glob("*/*.ipynb")
                 if "../results/" in p.read_text(encoding="utf-8"))
# Records whose one run takes most of an hour (ARCHITECTURE.md, "Recorded results"): one seed
# on the full data, and --check re-trains a fresh seed against the recorded value.
ONE_SEED = {"cifar10_cnn"}
# The record cell HOW_TO_FIX points to as the example to copy.
EXAMPLE_NOTEBOOK, EXAMPLE_CELL = LAB_NOTEBOOKS[0], "c14-prose"
HOW_TO_FIX = ("move each sentence that quotes a recorded number out of Markdown into a code "
              "cell tagged `remove-input` that builds the sentence from the record (the lab "
              "notebooks' helpers `load_record`, `mean_std`, `pct`; the record's `command` and "
              "`check_command`) and ends with `display(Markdown(text))`, as cell "
              f"`{EXAMPLE_CELL}` of {EXAMPLE_NOTEBOOK.relative_to(ROOT)} does; tables take "
              "their numbers from the record's `summary` the same way; then re-run the "
              "notebook under nbval")


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def blocks(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The main runs and every variant's runs, each with its summary."""
    return [("main", record), *record.get("variants", {}).items()]


def test_there_are_records() -> None:
    assert {p.stem for p in RECORDS} >= {"lab1_softmax_mnist", "lab2_mlp_mnist"}


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_record_names_its_command_seeds_and_experiment(path: Path) -> None:
    r = load(path)
    assert r["schema"] == _record.SCHEMA_VERSION, f"{path.name}: re-record with its command"
    assert r["name"] == path.stem and r["mode"] == "full"
    assert r["command"].startswith(f"python -m benchmarks.{path.stem} ")
    assert "--full" in r["command"].split() and "--seeds" in r["command"].split()
    assert r["check_command"] == f"python -m benchmarks.{path.stem} --check"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"])
    exp = importlib.import_module(f"benchmarks.{path.stem}").EXPERIMENT
    assert r["headline"] == exp.check.metric
    seeds = r["seeds"]
    if path.stem in ONE_SEED:
        assert r["config"]["n_train"] == 50_000 and r["config"]["n_test"] == 10_000
        assert len(seeds) >= 1
    else:
        assert r["config"]["full_data"] is True
        assert len(seeds) >= 3 and len(set(seeds)) == len(seeds), "at least 3 distinct seeds"
    assert [run["seed"] for run in r["runs"]] == seeds
    for name, block in r.get("variants", {}).items():
        assert set(block["seeds"]) <= set(seeds) and len(block["seeds"]) >= 3, name
        assert [run["seed"] for run in block["runs"]] == block["seeds"], name
        assert block["command"].startswith(f"python -m benchmarks.{path.stem} "), name


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_record_spread_is_that_of_its_runs(path: Path) -> None:
    r = load(path)
    for name, block in blocks(r):
        assert r["headline"] in block["summary"], name
        for metric, s in block["summary"].items():
            values = np.array([run[metric] for run in block["runs"]], dtype=float)
            assert s["n"] == len(values), (name, metric)
            assert s["mean"] == pytest.approx(values.mean(), abs=1e-6), (name, metric)
            std = values.std(ddof=1) if len(values) > 1 else 0.0
            assert s["std"] == pytest.approx(std, abs=1e-6), (name, metric)
            assert (s["min"], s["max"]) == (values.min(), values.max()), (name, metric)
    for name, block in r.get("variants", {}).items():
        main = {run["seed"]: run[r["headline"]] for run in r["runs"]}
        diffs = np.array([main[run["seed"]] - run[r["headline"]] for run in block["runs"]])
        d = block["difference"]
        assert d["mean"] == pytest.approx(diffs.mean(), abs=1e-6), name
        assert (d["min"], d["max"]) == pytest.approx((diffs.min(), diffs.max()), abs=1e-6), name
        assert d["consistent_sign"] == bool(np.all(diffs > 0) or np.all(diffs < 0)), name


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_record_states_its_check_and_why(path: Path) -> None:
    r = load(path)
    check = r["check"]
    assert check["metric"] == r["headline"]
    assert check["kind"] in ("exact", "spread")
    assert isinstance(check["tolerance"], float) and check["tolerance"] >= 0
    if check["kind"] == "exact":
        assert check["tolerance"] == 0
    assert isinstance(check["reason"], str) and len(check["reason"]) > 40, "say why"
    assert check["tolerance_rule"]
    if path.stem in ONE_SEED:  # a re-training with a seed the record has not seen
        assert check["seeds"] and not set(check["seeds"]) & set(r["seeds"])
    else:
        assert check["seeds"] and set(check["seeds"]) <= set(r["seeds"])
    assert check["expected_wall_time_s"] > 0


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_record_names_the_machine(path: Path) -> None:
    r = load(path)
    env = r["environment"]
    assert isinstance(env["cpu_model"], str) and env["cpu_model"]
    assert isinstance(env["cpu_count"], int) and env["cpu_count"] >= 1
    blas = env["blas"]
    for key in ("library", "version", "kernel"):
        assert isinstance(blas[key], str) and blas[key], key
    assert isinstance(blas["threads"], int) and blas["threads"] >= 1
    assert set(env["thread_env"]) == set(_record.THREAD_ENV)
    for key in ("python", "numpy", "dlcourse"):
        assert r["versions"][key], key
    assert "commit" in r["git"]
    for run in r["runs"]:
        assert run["wall_time_s"] > 0


def test_copy_detector_flags_the_old_hand_typed_numbers() -> None:
    # the sentences the lab notebooks had before their numbers were read from the records
    records = [load(p) for p in RECORDS]
    lab1 = load(RESULTS / "lab1_softmax_mnist.json")["summary"]["test_accuracy"]["mean"]
    assert _record.copies_in_text(f"测试准确率约为 {100 * lab1:.0f} %（记录在", records)
    assert _record.copies_in_text(f"错误率约 {100 * (1 - lab1):.0f} %", records)
    assert not _record.copies_in_text("批量 128，学习率 0.1，20 轮，$\\rho_2 = 0.999$", records)


def test_every_record_is_read_by_a_page() -> None:
    read = "\n".join(p.read_text(encoding="utf-8") for p in READERS)
    unread = [p.name for p in RECORDS if f"../results/{p.name}" not in read]
    assert not unread, f"records no book page reads: {unread}"


@pytest.mark.parametrize("path", READERS, ids=lambda p: p.stem)
def test_lab_notebook_markdown_copies_no_recorded_number(path: Path) -> None:
    records = [load(p) for p in RECORDS]
    nb = nbformat.read(path, as_version=4)
    hits = {cell.get("id"): _record.copies_in_text(cell.source, records)
            for cell in nb.cells if cell.cell_type == "markdown"}
    hits = {k: v for k, v in hits.items() if v}
    assert not hits, (f"{path.name}: Markdown cells type recorded numbers by hand {hits}; "
                      f"{HOW_TO_FIX}")


@pytest.mark.parametrize("path", LAB_NOTEBOOKS, ids=lambda p: p.stem)
def test_lab_notebook_shows_the_spread_read_from_its_record(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    name = {"04_lab1_softmax_mnist": "lab1_softmax_mnist", "06_lab2_mlp_mnist": "lab2_mlp_mnist"}
    assert f"../results/{name[path.stem]}.json" in code
    for needed in ('["summary"]', "mean_std(", "check_command", "machine("):
        assert needed in code, f"{path.name}: no {needed!r} in its code cells; {HOW_TO_FIX}"



def test_how_to_fix_example_is_a_record_sentence_cell() -> None:
    # HOW_TO_FIX names this cell as the pattern to copy: it must still be one
    nb = nbformat.read(EXAMPLE_NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if c.get("id") == EXAMPLE_CELL]
    assert len(cells) == 1, f"{EXAMPLE_NOTEBOOK.name} has no cell {EXAMPLE_CELL}: update HOW_TO_FIX"
    cell = cells[0]
    assert cell.cell_type == "code" and "remove-input" in cell.metadata.get("tags", [])
    for needed in ("mean_std(", "display(Markdown(", "command"):
        assert needed in cell.source, needed
