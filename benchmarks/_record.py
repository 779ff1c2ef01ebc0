"""The record format and the seed loop shared by every recorded benchmark.

A benchmark that the book quotes describes itself as an :class:`Experiment` (a function
``run(config, seed) -> dict`` plus what to summarise and how to check it) and hands its command
line to :func:`main`. :func:`main` then provides the same options everywhere:

``--full``           the recorded configuration (default: a quick, CI-sized one)
``--seeds 0-4``      which seeds to run (ranges and commas; default: the experiment's)
``--ablations``      also run the experiment's variants on the same seeds (paired comparison);
                     ``--ablation-seeds 0-2`` runs them on a subset of the seeds
``--threads N``      limit numpy's BLAS to N threads (threadpoolctl) for the whole run
``--out PATH``       where to write the record (default: ``book/results/<name>.json`` with
                     ``--full``, nowhere in quick mode); the runs so far are kept in
                     ``<out>.partial`` until the record is written
``--resume``         reuse the runs of that partial file (same name and config)
``--check``          re-run the record's configuration on the record's check seeds (or
                     ``--seeds``) and exit 1 unless every result passes the record's check
``--record PATH``    the record that ``--check`` reads (default: the book's file)

The record (JSON, ``SCHEMA_VERSION`` 1), one file per experiment::

    schema, name, title, mode ("full" | "quick"), command, check_command, date, wall_time_s
    description   static facts (model, data sizes, optimiser) for the book's tables
    config        every setting that run(config, seed) reads: the check re-runs exactly this
    headline      the metric the book quotes, e.g. "test_accuracy"
    seeds         [0, 1, ...]
    runs          one dict per seed: {"seed", <metrics>, <curves>, "wall_time_s"}
    summary       per metric: {"n", "mean", "std" (sample, ddof 1), "min", "max"}
    variants      (with --ablations) name -> {"changes", "seeds", "command", "runs", "summary",
                  "difference"}: difference = headline(main) - headline(variant) per seed,
                  summarised, with "consistent_sign" and "exceeds_spread" (see
                  paired_difference)
    check         {"metric", "kind" ("exact" | "spread"), "tolerance", "tolerance_rule",
                  "reason", "seeds", "expected_wall_time_s"}
    environment   cpu_model, cpu_count, machine, platform, numpy_simd, blas {library,
                  version, kernel, threads, threading_layer, numpy_build}, thread_env
                  (OPENBLAS/OMP/MKL_NUM_THREADS), load_average [start, end]
    versions      python, numpy, dlcourse, threadpoolctl
    git           {"commit", "uncommitted"}: the repository state the numbers came from

The check: ``kind == "exact"`` requires every re-run to equal the recorded run of the same seed
(a deterministic result); ``kind == "spread"`` requires every re-run to fall within the recorded
``[min - tolerance, max + tolerance]`` over all seeds, since a float32 run on another BLAS
kernel or thread count is a fresh draw from the seed-to-seed distribution, not a copy of the
recorded run of its seed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import dlcourse

SCHEMA_VERSION = 1
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "book" / "results"
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

RunFn = Callable[[dict[str, Any], int], dict[str, Any]]


# --------------------------------------------------------------------------- statistics


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """Mean, sample standard deviation (ddof 1; 0 for one value), min and max of ``values``."""
    if len(values) == 0:
        raise ValueError("values: expected at least one value, got none")
    xs = [float(v) for v in values]
    return {
        "n": len(xs),
        "mean": round(statistics.fmean(xs), 6),
        "std": round(statistics.stdev(xs), 6) if len(xs) > 1 else 0.0,
        "min": min(xs),
        "max": max(xs),
    }


def paired_difference(
    main: Sequence[dict[str, Any]], variant: Sequence[dict[str, Any]], metric: str
) -> dict[str, Any]:
    """``metric`` of ``main`` minus ``metric`` of ``variant``, paired by seed, summarised.

    ``variant`` may cover a subset of ``main``'s seeds; only those seeds are paired.

    Returns the summary of the per-seed differences plus ``consistent_sign`` (every seed's
    difference has the same non-zero sign) and ``exceeds_spread`` (the mean difference is larger
    in magnitude than the seed-to-seed standard deviation of either variant).
    """
    by_seed = {r["seed"]: r[metric] for r in variant}
    seeds = [r["seed"] for r in main]
    if not by_seed or not set(by_seed) <= set(seeds):
        raise ValueError(f"variant: expected runs for a subset of seeds {seeds}, "
                         f"got {sorted(by_seed)}")
    diffs = [round(r[metric] - by_seed[r["seed"]], 6) for r in main if r["seed"] in by_seed]
    out: dict[str, Any] = {"metric": metric, **summarize(diffs)}
    spread = max(summarize([r[metric] for r in main])["std"],
                 summarize([r[metric] for r in variant])["std"])
    out["consistent_sign"] = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
    out["exceeds_spread"] = abs(out["mean"]) > spread
    out["rule"] = ("exceeds_spread: |mean difference| > the larger standard deviation over "
                   "seeds of the two variants")
    return out


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5-6"`` -> [0, 2, 5, 6]; order kept, no repeats."""
    seeds: list[int] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if m is None or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise ValueError(f"seeds: expected e.g. '0-4' or '0,1,7', got {text!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        seeds += [s for s in range(lo, hi + 1) if s not in seeds]
    return seeds


def format_seeds(seeds: Sequence[int]) -> str:
    """Inverse of :func:`parse_seeds` for the command line: [0, 1, 2, 5] -> ``"0-2,5"``."""
    parts: list[str] = []
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(str(seeds[i]) if j == i else f"{seeds[i]}-{seeds[j]}")
        i = j + 1
    return ",".join(parts)


# --------------------------------------------------------------------------- environment


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_info() -> dict[str, Any]:
    """numpy's BLAS: library, version, kernel (CPU architecture it dispatched to), threads.

    From threadpoolctl when it is installed (the kernel and thread count as used at run time),
    else from ``np.show_config`` (build information only: kernel and threads ``None``).
    """
    build = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    numpy_build = " ".join(str(build.get(k, "")) for k in ("name", "version")).strip()
    info: dict[str, Any] = {"library": build.get("name"), "version": build.get("version"),
                            "kernel": None, "threads": None, "threading_layer": None,
                            "numpy_build": numpy_build or None}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return info
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    mine = [p for p in pools if "numpy" in str(p.get("filepath", ""))] or pools
    if mine:
        p = mine[0]
        info.update(library=p.get("internal_api"), version=p.get("version"),
                    kernel=p.get("architecture"), threads=int(p["num_threads"]),
                    threading_layer=p.get("threading_layer"))
    return info


def environment() -> dict[str, Any]:
    """The machine fields of a record (see the module docstring)."""
    simd = np.show_config(mode="dicts").get("SIMD Extensions", {})
    load = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "numpy_simd": simd.get("found"),
        "blas": blas_info(),
        "thread_env": {k: os.environ.get(k) for k in THREAD_ENV},
        "load_average": [round(load[0], 2)] if load else None,
    }


def versions() -> dict[str, str | None]:
    """Versions of Python and of the packages a result depends on."""
    try:
        import threadpoolctl
        tpc: str | None = threadpoolctl.__version__
    except ImportError:
        tpc = None
    return {"python": platform.python_version(), "numpy": np.__version__,
            "dlcourse": dlcourse.__version__, "threadpoolctl": tpc}


def git_state() -> dict[str, Any]:
    """Commit of the repository and its uncommitted files under ``dlcourse/`` and
    ``benchmarks/`` (the code a result depends on); ``None`` outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--", "dlcourse", "benchmarks"],
                                cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted": None}
    return {"commit": commit, "uncommitted": sorted(line[3:] for line in status.splitlines())}


@contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Limit numpy's BLAS to ``threads`` threads inside the block (``None``: leave as is)."""
    if threads is None:
        yield
        return
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads: expected an int >= 1, got {threads!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as err:
        raise RuntimeError(
            f"threads: limiting numpy's BLAS needs threadpoolctl (pip install threadpoolctl), "
            f"or set OPENBLAS_NUM_THREADS={threads} before starting Python") from err
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


# --------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class CheckSpec:
    """How ``--check`` judges a re-run of the headline metric.

    ``kind="exact"``: every re-run equals the recorded run of its seed (tolerance 0).
    ``kind="spread"``: every re-run lies in ``[min - tol, max + tol]`` over the recorded seeds,
    with ``tol = max(tolerance_sd * std, tolerance_min)`` fixed when the record is written.
    ``seeds``: the subset of recorded seeds that ``--check`` re-runs (``None``: all).
    ``reason``: why this kind and tolerance; it is written into the record.
    """

    metric: str
    kind: str
    reason: str
    tolerance_sd: float = 0.0
    tolerance_min: float = 0.0
    seeds: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("exact", "spread"):
            raise ValueError(f"kind: expected 'exact' or 'spread', got {self.kind!r}")
        if self.kind == "exact" and (self.tolerance_sd or self.tolerance_min):
            raise ValueError("tolerance_sd, tolerance_min: an exact check has no tolerance")

    def resolve(self, summary: dict[str, Any], runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The record's ``check`` field for these runs (tolerance as a number)."""
        if self.kind == "exact":
            tol, rule = 0.0, "exact: each re-run equals the recorded run of the same seed"
        else:
            tol = max(self.tolerance_sd * summary["std"], self.tolerance_min)
            tol = math.ceil(tol * 1e6 - 1e-6) / 1e6        # rounded up to 1e-6
            rule = (f"within [min - tol, max + tol] of the recorded seeds, "
                    f"tol = max({self.tolerance_sd:g} x std, {self.tolerance_min:g})")
        seeds = [r["seed"] for r in runs]
        # named check seeds are kept even when the record lacks them (a one-seed record's check
        # re-trains a fresh seed, a draw judged by the spread rule); else all recorded seeds
        chosen = list(self.seeds) if self.seeds is not None else seeds
        if self.kind == "exact":  # an exact check compares with the recorded run of its seed
            chosen = [s for s in chosen if s in seeds]
        walls = {r["seed"]: r["wall_time_s"] for r in runs}
        mean_wall = sum(walls.values()) / len(walls) if walls else 0.0
        expected = sum(walls.get(s, mean_wall) for s in chosen)
        return {"metric": self.metric, "kind": self.kind, "tolerance": tol,
                "tolerance_rule": rule, "reason": self.reason, "seeds": chosen,
                "expected_wall_time_s": round(expected, 1)}


@dataclass(frozen=True)
class Experiment:
    """A recorded benchmark: how to run one seed and how to summarise and check the runs.

    ``run(config, seed)`` trains once and returns plain JSON values: the ``metrics`` (floats,
    summarised over seeds) and anything else per run (curves, selected epoch). ``describe(config)``
    returns static facts for the book's tables. ``variants`` maps an ablation's name to the
    config keys it changes. ``quick_seeds`` / ``full_seeds`` are the default seeds.
    """

    name: str
    title: str
    run: RunFn
    describe: Callable[[dict[str, Any]], dict[str, Any]]
    metrics: tuple[str, ...]
    check: CheckSpec
    full_seeds: tuple[int, ...]
    quick_seeds: tuple[int, ...] = (0,)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.check.metric not in self.metrics:
            raise ValueError(f"check.metric: expected one of {self.metrics}, "
                             f"got {self.check.metric!r}")

    @property
    def default_path(self) -> Path:
        """``book/results/<name>.json``."""
        return RESULTS / f"{self.name}.json"


def run_seeds(exp: Experiment, config: dict[str, Any], seeds: Sequence[int],
              log: Callable[[str], None] = print, label: str = "",
              done: dict[int, dict[str, Any]] | None = None,
              on_run: Callable[[list[dict[str, Any]]], None] | None = None) -> dict[str, Any]:
    """Run ``exp`` once per seed: ``{"runs": [...], "summary": {metric: summarize(...)}}``.

    ``done``: runs already made (by seed, e.g. from a partial file), reused instead of re-run.
    ``on_run(runs)`` is called after every new run with the runs so far.
    """
    runs = []
    for seed in seeds:
        if done is not None and int(seed) in done:
            runs.append(done[int(seed)])
            log(f"{exp.name}{label} seed {seed}: reused from the partial record")
            continue
        start = time.perf_counter()
        result = exp.run(config, seed)
        wall = time.perf_counter() - start
        missing = [m for m in exp.metrics if m not in result]
        if missing:
            raise KeyError(f"{exp.name}: run() returned no {missing}")
        runs.append({"seed": int(seed), **result, "wall_time_s": round(wall, 1)})
        values = ", ".join(f"{m} {result[m]:g}" for m in exp.metrics)
        log(f"{exp.name}{label} seed {seed}: {values} ({wall:.1f} s)")
        if on_run is not None:
            on_run(runs)
    summary = {m: summarize([r[m] for r in runs]) for m in exp.metrics}
    return {"runs": runs, "summary": summary}


def _variant_command(command: str, flags: Sequence[str], seeds: Sequence[int]) -> str:
    """``command`` of the main run turned into the command of one variant alone."""
    args = shlex.split(command)
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--ablations",):
            continue
        if a in ("--seeds", "--ablation-seeds"):
            skip = True
            continue
        if a.startswith(("--seeds=", "--ablation-seeds=")):
            continue
        out.append(a)
    return shlex.join([*out, "--seeds", format_seeds(seeds), *flags])


def build_record(exp: Experiment, config: dict[str, Any], seeds: Sequence[int], full: bool,
                 command: str, ablations: bool = False, threads: int | None = None,
                 ablation_seeds: Sequence[int] | None = None,
                 partial: Path | None = None, resume: bool = False,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every seed (and every variant with ``ablations``) and return the record.

    ``ablation_seeds``: the seeds the variants run on (a subset of ``seeds``; default all).
    ``partial``: a file rewritten after every run with the runs so far (deleted by the
    caller once the record is written), so that a long recording that dies loses one run;
    with ``resume``, runs found there for the same name and config are reused.
    """
    if len(seeds) == 0:
        raise ValueError("seeds: expected at least one seed, got none")
    ablation_seeds = list(seeds) if ablation_seeds is None else list(ablation_seeds)
    if not ablation_seeds or not set(ablation_seeds) <= set(seeds):
        raise ValueError(f"ablation_seeds: expected a non-empty subset of {list(seeds)}, "
                         f"got {ablation_seeds}")
    env = environment()
    git = git_state()                        # the code that runs, before it can change
    blocks: dict[str, list[dict[str, Any]]] = {}
    previous: dict[str, list[dict[str, Any]]] = {}
    if partial is not None and resume and partial.exists():
        saved = json.loads(partial.read_text(encoding="utf-8"))
        if saved.get("name") == exp.name and saved.get("config") == config:
            previous = saved["blocks"]
        else:
            log(f"{partial}: another experiment or config, not resumed")

    def progress(block: str) -> Callable[[list[dict[str, Any]]], None]:
        def save(runs: list[dict[str, Any]]) -> None:
            blocks[block] = list(runs)
            if partial is not None:
                partial.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(dumps({"name": exp.name, "config": config,
                                          "blocks": {**previous, **blocks}}), encoding="utf-8")
        return save

    def reuse(block: str) -> dict[int, dict[str, Any]]:
        return {int(r["seed"]): r for r in previous.get(block, [])}

    start = time.perf_counter()
    with blas_threads(threads):
        env["blas"] = blas_info()            # as used inside the thread limit
        main_runs = run_seeds(exp, config, seeds, log, done=reuse("main"),
                              on_run=progress("main"))
        variants = {}
        if ablations:
            for vname, changes in exp.variants.items():
                res = run_seeds(exp, {**config, **changes}, ablation_seeds, log,
                                label=f" [{vname}]", done=reuse(vname), on_run=progress(vname))
                flags = [f"--{k.replace('_', '-')}={v}" for k, v in changes.items()]
                variants[vname] = {
                    "changes": changes,
                    "seeds": [int(s) for s in ablation_seeds],
                    "command": _variant_command(command, flags, ablation_seeds),
                    **res,
                    "difference": paired_difference(main_runs["runs"], res["runs"],
                                                    exp.check.metric),
                }
    wall = time.perf_counter() - start
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if env["load_average"] is not None and load_end is not None:
        env["load_average"].append(round(load_end, 2))
    record: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "name": exp.name,
        "title": exp.title,
        "mode": "full" if full else "quick",
        "command": command,
        "check_command": f"python -m benchmarks.{exp.name} --check",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "wall_time_s": round(wall, 1),
        "description": exp.describe(config),
        "config": config,
        "headline": exp.check.metric,
        "seeds": [int(s) for s in seeds],
        "runs": main_runs["runs"],
        "summary": main_runs["summary"],
    }
    if variants:
        record["variants"] = variants
    resumed = {b: sorted(int(r["seed"]) for r in runs) for b, runs in previous.items() if runs}
    if resumed:
        record["resumed_seeds"] = resumed    # runs taken from a partial file of an earlier start
    record["check"] = exp.check.resolve(main_runs["summary"][exp.check.metric],
                                        main_runs["runs"])
    record.update(environment=env, versions=versions(), git=git)
    return record


# --------------------------------------------------------------------------- checking


@dataclass
class CheckOutcome:
    """Result of :func:`check_record`: one line per re-run seed and whether all passed."""

    passed: bool
    lines: list[str]
    wall_time_s: float
    values: dict[int, float]


def judge(check: dict[str, Any], runs: Sequence[dict[str, Any]], seed: int,
          value: float) -> tuple[bool, str]:
    """Whether a re-run of ``seed`` giving ``value`` passes the record's ``check``, and why."""
    metric = check["metric"]
    recorded = {r["seed"]: r[metric] for r in runs}
    values = list(recorded.values())
    lo, hi, tol = min(values), max(values), float(check["tolerance"])
    same = recorded.get(seed)
    vs_seed = ("identical to the recorded run of this seed" if same == value else
               f"recorded run of this seed: {same:g}" if same is not None else
               "seed not in the record")
    if check["kind"] == "exact":
        if same is None:
            return False, f"seed {seed}: no recorded run to compare with exactly"
        inside = lo <= value <= hi
        ok = value == same
        why = (f"{metric} {value:g}, {vs_seed}" if ok else
               f"{metric} {value:g} != recorded {same:g} for seed {seed} (exact check); "
               f"{'inside' if inside else 'outside'} the range over seeds {lo:g}-{hi:g}")
        return ok, why
    ok = lo - tol <= value <= hi + tol
    why = (f"{metric} {value:g} {'within' if ok else 'OUTSIDE'} "
           f"[{lo - tol:.6g}, {hi + tol:.6g}] (recorded {lo:g}-{hi:g} widened by {tol:g}); "
           f"{vs_seed}")
    return ok, why


def check_record(exp: Experiment, record: dict[str, Any], seeds: Sequence[int] | None = None,
                 threads: int | None = None,
                 log: Callable[[str], None] = print) -> CheckOutcome:
    """Re-run ``record``'s configuration on its check seeds (or ``seeds``) and judge each run.

    ``threads``: BLAS threads for the re-run; default the record's thread count (if
    threadpoolctl is available), so that a same-machine check repeats the recorded runs.
    """
    if record.get("name") != exp.name:
        raise ValueError(f"record: expected a record of {exp.name!r}, got {record.get('name')!r}")
    check = record["check"]
    chosen = list(seeds) if seeds is not None else list(check["seeds"])
    if threads is None:
        threads = record["environment"]["blas"].get("threads")
        try:
            import threadpoolctl  # noqa: F401
        except ImportError:
            threads = None
    lines: list[str] = []
    values: dict[int, float] = {}
    passed = True
    start = time.perf_counter()
    with blas_threads(threads):
        here = blas_info()
        log(f"check {exp.name}: re-running {record['mode']} config on seeds {chosen} "
            f"(recorded: {record['environment']['blas'].get('kernel')} kernel, "
            f"{record['environment']['blas'].get('threads')} threads; here: {here['kernel']} "
            f"kernel, {here['threads']} threads); expected about "
            f"{check.get('expected_wall_time_s', '?')} s on the recording machine")
        for seed in chosen:
            res = run_seeds(exp, record["config"], [seed], log=lambda _msg: None)
            value = float(res["runs"][0][check["metric"]])
            values[seed] = value
            ok, why = judge(check, record["runs"], seed, value)
            passed &= ok
            line = (f"{'ok  ' if ok else 'FAIL'} seed {seed}: {why} "
                    f"({res['runs'][0]['wall_time_s']} s)")
            lines.append(line)
            log(line)
    return CheckOutcome(passed=passed, lines=lines, wall_time_s=time.perf_counter() - start,
                        values=values)


# --------------------------------------------------------------------------- prose


def _fractions(record: dict[str, Any]) -> set[float]:
    """Every recorded value in [0, 1] that prose might quote: per run, mean, min, max."""
    values: set[float] = set()
    for block in [record, *record.get("variants", {}).values()]:
        for metric, s in block.get("summary", {}).items():
            candidates = [s["mean"], s["min"], s["max"]]
            candidates += [r[metric] for r in block.get("runs", []) if metric in r]
            values |= {float(v) for v in candidates if 0.0 <= float(v) <= 1.0}
    return values


def copies_in_text(text: str, records: Sequence[dict[str, Any]]) -> list[str]:
    """Numbers in ``text`` (Markdown prose) that copy a recorded result by hand.

    A percentage (``92 %``, ``98.4%``, ``0.3 个百分点``) matches when it equals a recorded value
    in [0, 1] (an accuracy; its error rate 1 - v; a variant's per-seed difference) times 100,
    rounded to 1 or 2 decimals, or to an integer when it is at least 2.5 (below, rounding to
    an integer says too little to call it a copy); a bare decimal with 2-4 digits (``0.9241``)
    matches the value itself. Inline code and math are skipped. Returns the matching snippets.
    """
    fractions: set[float] = set()
    points: set[float] = set()
    for rec in records:
        f = _fractions(rec)
        fractions |= f
        points |= f | {1.0 - v for v in f}
        for v in rec.get("variants", {}).values():
            d = v.get("difference", {})
            points |= {abs(float(d[k])) for k in ("mean", "min", "max") if k in d}
    pct = {f"{100 * v:.{k}f}" for v in points for k in (1, 2)}
    pct |= {f"{100 * v:.0f}" for v in points if 100 * v >= 2.5}   # "1 %" would flag 0.6 %
    frac = {f"{v:.{k}f}" for v in fractions for k in (2, 3, 4)}
    pct = {t for t in pct if t.strip("0.")}          # "0", "0.0": nothing worth flagging
    prose = re.sub(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", " ", text, flags=re.S)
    hits = []
    for m in re.finditer(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(%|％|个百分点)", prose):
        if m.group(1) in pct:
            hits.append(m.group(0))
    for m in re.finditer(r"(?<![\w.])(0\.\d{2,4})(?![\d%])", prose):
        if m.group(1) in frac:
            hits.append(m.group(0))
    return hits


# --------------------------------------------------------------------------- files and CLI


def dumps(record: dict[str, Any]) -> str:
    """Indented JSON with lists of numbers kept on one line (diffs stay readable)."""
    text = json.dumps(record, indent=2, ensure_ascii=False)
    number_list = re.compile(r"\[\s*((?:-?[\d.eE+-]+,\s*)*-?[\d.eE+-]+)\s*\]")
    return number_list.sub(lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def write_record(record: dict[str, Any], out: Path | None) -> None:
    """Write ``record`` to ``out`` (nothing when ``out`` is None)."""
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps(record), encoding="utf-8")
    print(f"wrote {out}")


def read_record(path: Path) -> dict[str, Any]:
    """Load a record and verify its schema version."""
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    if record.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"{path}: expected a record with schema {SCHEMA_VERSION}, got "
                         f"{record.get('schema')!r}; re-record it with its 'command'")
    return record


def _seeds_arg(text: str) -> list[int]:
    try:
        return parse_seeds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def make_parser(exp: Experiment, doc: str) -> argparse.ArgumentParser:
    """The shared options (see the module docstring); scripts add their own settings."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="the recorded configuration; writes "
                             f"{exp.default_path.relative_to(ROOT)}")
    parser.add_argument("--seeds", type=_seeds_arg, default=None,
                        help=f"e.g. 0-4 or 0,3 (default: {format_seeds(exp.full_seeds)} with "
                             f"--full, {format_seeds(exp.quick_seeds)} quick; with --check: the "
                             f"record's check seeds)")
    if exp.variants:
        parser.add_argument("--ablations", action="store_true",
                            help="also run " + ", ".join(
                                f"{k} ({v})" for k, v in exp.variants.items())
                            + " on the same seeds")
        parser.add_argument("--ablation-seeds", type=_seeds_arg, default=None,
                            help="seeds for the ablations, a subset of --seeds (default: all)")
    parser.add_argument("--threads", type=int, default=None,
                        help="numpy BLAS threads (threadpoolctl); with --check default: the "
                             "record's")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the record (default: the book's file with --full, "
                             "nowhere in quick mode)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the runs saved in <out>.partial by an interrupted "
                             "recording with the same config")
    parser.add_argument("--check", action="store_true",
                        help="re-run the record's configuration and fail unless the results "
                             "pass its check")
    parser.add_argument("--record", type=Path, default=None,
                        help="record read by --check (default: the book's file)")
    return parser


def command_line(exp: Experiment, argv: Sequence[str], seeds: Sequence[int]) -> str:
    """The command that reproduces a run: the arguments given, minus ``--out``, plus the seeds."""
    args = list(argv)
    if "--out" in args:
        i = args.index("--out")
        del args[i:i + 2]
    args = [a for a in args if not a.startswith("--out=") and a != "--resume"]
    if not any(a == "--seeds" or a.startswith("--seeds=") for a in args):
        args += ["--seeds", format_seeds(seeds)]
    return shlex.join(["python", "-m", f"benchmarks.{exp.name}", *args])


def main(exp: Experiment, argv: Sequence[str] | None, parser: argparse.ArgumentParser,
         make_config: Callable[[argparse.Namespace], dict[str, Any]]) -> int:
    """Parse ``argv``, then record (default) or check (``--check``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.check:
        path = args.record if args.record is not None else exp.default_path
        record = read_record(path)
        outcome = check_record(exp, record, seeds=args.seeds, threads=args.threads)
        verdict = "passed" if outcome.passed else "FAILED"
        print(f"check {verdict}: {len(outcome.values)} re-run(s) of {record['check']['metric']}"
              f" against {path} ({record['check']['kind']}, tolerance "
              f"{record['check']['tolerance']:g}: {record['check']['reason']}) "
              f"in {outcome.wall_time_s:.0f} s")
        return 0 if outcome.passed else 1
    seeds = args.seeds if args.seeds is not None else list(
        exp.full_seeds if args.full else exp.quick_seeds)
    config = make_config(args)
    out = args.out if args.out is not None else (exp.default_path if args.full else None)
    partial = out.with_name(out.name + ".partial") if out is not None else None
    record = build_record(exp, config, seeds, args.full, command_line(exp, argv, seeds),
                          ablations=getattr(args, "ablations", False), threads=args.threads,
                          ablation_seeds=getattr(args, "ablation_seeds", None),
                          partial=partial, resume=args.resume)
    s = record["summary"][exp.check.metric]
    print(f"{record['mode']}: {exp.check.metric} mean {s['mean']:.4f}, std {s['std']:.4f}, "
          f"min {s['min']:g}, max {s['max']:g} over {s['n']} seeds ({record['wall_time_s']} s)")
    for vname, v in record.get("variants", {}).items():
        d = v["difference"]
        print(f"  variant {vname}: mean {v['summary'][exp.check.metric]['mean']:.4f}; main - "
              f"variant {d['mean']:+.4f} (per seed {d['min']:+g} to {d['max']:+g})")
    write_record(record, out)
    if partial is not None and partial.exists():
        partial.unlink()
    return 0
