"""The shared record format and seed loop of the benchmarks (``benchmarks/_record.py``).

A fake experiment whose result per seed is a fixed table stands in for training, so every
expected number below is computed by hand from that table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _record

# the fake experiment's headline per seed, and a variant that is 0.01 lower except on seed 2
TABLE = {0: 0.90, 1: 0.92, 2: 0.91, 3: 0.93}
VARIANT = {0: 0.89, 1: 0.91, 2: 0.92, 3: 0.92}


def fake_run(config: dict[str, Any], seed: int) -> dict[str, Any]:
    table = VARIANT if config["variant"] else TABLE
    return {"acc": table[seed] + config["shift"], "curve": [0.5, table[seed]]}


def make_experiment(kind: str = "spread", **check: Any) -> _record.Experiment:
    spec = _record.CheckSpec(metric="acc", kind=kind, reason="because", **check)
    return _record.Experiment(
        name="fake", title="fake experiment", run=fake_run,
        describe=lambda config: {"model": "table"}, metrics=("acc",), check=spec,
        full_seeds=(0, 1, 2, 3), variants={"lower": {"variant": True}},
    )


def record_of(exp: _record.Experiment, seeds=(0, 1, 2, 3), **kw: Any) -> dict[str, Any]:
    return _record.build_record(exp, {"variant": False, "shift": 0.0}, list(seeds), True,
                                "python -m benchmarks.fake --full", log=lambda _m: None, **kw)


def test_summarize_matches_hand_computation() -> None:
    s = _record.summarize([1.0, 2.0, 3.0, 4.0])
    # mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, / (n - 1) = 5/3
    assert s == {"n": 4, "mean": 2.5, "std": round(math.sqrt(5 / 3), 6), "min": 1.0, "max": 4.0}
    assert _record.summarize([0.7])["std"] == 0.0
    with pytest.raises(ValueError, match="values"):
        _record.summarize([])


@pytest.mark.parametrize(("text", "seeds"), [
    ("0-4", [0, 1, 2, 3, 4]), ("3", [3]), ("0,2,5-6", [0, 2, 5, 6]), ("1,1,0-1", [1, 0]),
])
def test_parse_and_format_seeds(text: str, seeds: list[int]) -> None:
    assert _record.parse_seeds(text) == seeds
    assert _record.parse_seeds(_record.format_seeds(seeds)) == seeds


@pytest.mark.parametrize("text", ["", "a", "4-2", "1-", "-1"])
def test_parse_seeds_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="seeds"):
        _record.parse_seeds(text)


def test_record_has_runs_summary_check_and_machine_fields() -> None:
    exp = make_experiment(tolerance_sd=2.0, tolerance_min=0.001, seeds=(1, 3))
    rec = record_of(exp)
    assert rec["schema"] == _record.SCHEMA_VERSION and rec["seeds"] == [0, 1, 2, 3]
    assert [r["seed"] for r in rec["runs"]] == [0, 1, 2, 3]
    s = rec["summary"]["acc"]
    # 0.90, 0.92, 0.91, 0.93: mean 0.915, deviations .015 .005 .005 .015 -> var 0.0005/3
    assert s["mean"] == pytest.approx(0.915) and s["min"] == 0.90 and s["max"] == 0.93
    std = math.sqrt(0.0005 / 3)
    assert s["std"] == pytest.approx(std, abs=1e-6)
    check = rec["check"]
    assert check["kind"] == "spread" and check["seeds"] == [1, 3] and check["reason"] == "because"
    assert check["tolerance"] == pytest.approx(2 * std, abs=2e-6)
    env = rec["environment"]
    for key in ("cpu_model", "cpu_count", "machine", "numpy_simd", "thread_env"):
        assert key in env
    for key in ("library", "version", "kernel", "threads", "numpy_build"):
        assert key in env["blas"]
    assert set(rec["versions"]) >= {"python", "numpy", "dlcourse"}
    assert rec["command"] == "python -m benchmarks.fake --full"


def test_variants_are_paired_by_seed() -> None:
    rec = record_of(make_experiment(), ablations=True)
    v = rec["variants"]["lower"]
    assert v["seeds"] == [0, 1, 2, 3]
    d = v["difference"]
    # per seed: +0.01, +0.01, -0.01, +0.01
    assert d["mean"] == pytest.approx(0.005) and d["min"] == pytest.approx(-0.01)
    assert d["consistent_sign"] is False
    # spreads: main std 0.01291, variant (0.89, 0.91, 0.92, 0.92) std 0.01414: 0.005 is smaller
    assert d["exceeds_spread"] is False
    sub = record_of(make_experiment(), ablations=True, ablation_seeds=[0, 1])
    assert sub["variants"]["lower"]["difference"]["consistent_sign"] is True
    assert sub["variants"]["lower"]["command"] == (
        "python -m benchmarks.fake --full --seeds 0-1 --variant=True")
    with pytest.raises(ValueError, match="ablation_seeds"):
        record_of(make_experiment(), ablations=True, ablation_seeds=[7])


def test_spread_check_passes_inside_and_fails_outside_the_widened_range() -> None:
    exp = make_experiment(tolerance_min=0.005)
    rec = record_of(exp)
    rec["check"]["tolerance"] = 0.005           # range [0.90, 0.93] -> [0.895, 0.935]
    assert _record.check_record(exp, rec, seeds=[0, 3], log=lambda _m: None).passed
    for shift, ok in [(0.0049, True), (0.0051, False), (-0.0049, True), (-0.0051, False)]:
        rec["config"]["shift"] = shift
        seed = 3 if shift > 0 else 0              # 0.93 + shift, 0.90 + shift
        outcome = _record.check_record(exp, rec, seeds=[seed], log=lambda _m: None)
        assert outcome.passed is ok, (shift, outcome.lines)
    assert "OUTSIDE" in outcome.lines[0]


def test_exact_check_compares_with_the_same_seed() -> None:
    exp = make_experiment(kind="exact")
    rec = record_of(exp)
    assert rec["check"]["tolerance"] == 0.0 and rec["check"]["seeds"] == [0, 1, 2, 3]
    assert _record.check_record(exp, rec, log=lambda _m: None).passed
    rec["runs"][1]["acc"] = 0.91                # inside the range, but not seed 1's value
    outcome = _record.check_record(exp, rec, log=lambda _m: None)
    assert not outcome.passed
    assert "0.92 != recorded 0.91 for seed 1" in outcome.lines[1]
    assert "inside the range" in outcome.lines[1]


def test_check_refuses_another_experiments_record() -> None:
    exp = make_experiment()
    rec = record_of(exp)
    rec["name"] = "other"
    with pytest.raises(ValueError, match="record"):
        _record.check_record(exp, rec)


def test_exact_check_has_no_tolerance_and_kind_is_validated() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        _record.CheckSpec(metric="acc", kind="exact", reason="r", tolerance_sd=1.0)
    with pytest.raises(ValueError, match="kind"):
        _record.CheckSpec(metric="acc", kind="roughly", reason="r")


def test_written_record_round_trips_with_one_line_number_lists(tmp_path: Path) -> None:
    rec = record_of(make_experiment())
    out = tmp_path / "fake.json"
    _record.write_record(rec, out)
    text = out.read_text(encoding="utf-8")
    assert '"curve": [0.5, 0.9]' in text
    assert json.loads(text) == json.loads(json.dumps(rec))
    assert _record.read_record(out)["name"] == "fake"
    rec["schema"] = 0
    _record.write_record(rec, out)
    with pytest.raises(ValueError, match="schema"):
        _record.read_record(out)


def test_command_line_names_the_seeds_and_drops_out() -> None:
    exp = make_experiment()
    assert _record.command_line(exp, ["--full", "--out", "x.json"], [0, 1, 2]) == (
        "python -m benchmarks.fake --full --seeds 0-2")
    assert _record.command_line(exp, ["--full", "--seeds", "3"], [3]) == (
        "python -m benchmarks.fake --full --seeds 3")


def test_copies_in_text_finds_hand_typed_record_numbers() -> None:
    rec = {"summary": {"acc": {"n": 3, "mean": 0.9241, "std": 0.001, "min": 0.923, "max": 0.925}},
           "runs": [{"seed": 0, "acc": 0.9241}],
           "variants": {"v": {"summary": {}, "runs": [],
                              "difference": {"mean": 0.0033, "min": 0.001, "max": 0.006}}}}
    find = _record.copies_in_text
    assert find("准确率约 92 %，即 92.4%，或 0.9241", [rec]) == ["92 %", "92.4%", "0.9241"]
    assert find("错误率约 8 %", [rec]) == ["8 %"]                   # 1 - 0.9241 = 7.59 %
    assert find("差距约 0.33 个百分点", [rec]) == ["0.33 个百分点"]  # the variant's difference
    assert find("学习率 0.1，93 %，`92 %`，$0.9241$，1 %", [rec]) == []


def test_an_interrupted_recording_resumes_from_its_partial_file(tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(config: dict[str, Any], seed: int) -> dict[str, Any]:
        calls.append(seed)
        if seed == 2 and config["fail"]:
            raise RuntimeError("killed")
        return {"acc": TABLE[seed]}

    exp = _record.Experiment(
        name="flaky", title="t", run=flaky, describe=lambda c: {}, metrics=("acc",),
        check=_record.CheckSpec(metric="acc", kind="exact", reason="r"), full_seeds=(0, 1, 2))
    partial = tmp_path / "flaky.json.partial"
    build = _record.build_record
    with pytest.raises(RuntimeError, match="killed"):
        build(exp, {"fail": True}, [0, 1, 2], True, "c", partial=partial, log=lambda _m: None)
    assert [r["seed"] for r in json.loads(partial.read_text())["blocks"]["main"]] == [0, 1]
    calls.clear()
    # another config: nothing reused
    rec = build(exp, {"fail": False, "x": 1}, [0, 1, 2], True, "c", partial=partial,
                resume=True, log=lambda _m: None)
    assert calls == [0, 1, 2] and "resumed_seeds" not in rec
    with pytest.raises(RuntimeError, match="killed"):
        build(exp, {"fail": True}, [0, 1, 2], True, "c", partial=partial, log=lambda _m: None)
    calls.clear()
    saved = json.loads(partial.read_text())
    saved["config"] = {"fail": False}                 # the same config as the resumed call
    partial.write_text(json.dumps(saved))
    rec = build(exp, {"fail": False}, [0, 1, 2], True, "c", partial=partial, resume=True,
                log=lambda _m: None)
    assert calls == [2]                               # seeds 0 and 1 came from the file
    assert rec["resumed_seeds"] == {"main": [0, 1]}
    assert [r["acc"] for r in rec["runs"]] == [0.90, 0.92, 0.91]
