"""Make the lab notebooks show recorded results as mean ± spread over seeds, read from the record.

The records in ``book/results/*.json`` hold several seeds per experiment (format:
``benchmarks/_record.py``). This script rewrites the cells of the two lab notebooks that read
them, so that

- the tables show the mean ± standard deviation over seeds, the lowest and highest seed, the
  seed count, the command that produced the record, its ``--check`` command and the machine;
- every sentence that quotes a recorded number is produced by code from the record (a cell
  tagged ``remove-input`` that displays Markdown), so prose cannot drift from the record;
- Markdown cells keep no hand-typed copies of recorded numbers (``tests/test_records.py``).

Usage (from the repository root)::

    python tools/apply_record_cells.py            # patch both lab notebooks in place
    python tools/apply_record_cells.py --dry-run  # say what would change, write nothing
    python tools/apply_record_cells.py PATH ...   # patch these copies instead (same file names)
                                                  # (--results DIR: the records they read)

Idempotent: a second run changes nothing. Cells are found by id, else by content (the code cell
that opens ``../results/<name>.json``, the Markdown cell with the heading ``## 完整训练的结果``
or ``## 小结``), so edits elsewhere in the notebooks do not matter. Exit status 1 if a notebook
still has Markdown that copies a recorded number after patching (the report names the cell).
"""

# ruff: noqa: E501  (templates of notebook cells: Chinese Markdown keeps a paragraph on one line)
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._record import copies_in_text  # noqa: E402

LAB1 = ROOT / "book" / "01_basics" / "04_lab1_softmax_mnist.ipynb"
LAB2 = ROOT / "book" / "02_feedforward" / "06_lab2_mlp_mnist.ipynb"
RESULTS = ROOT / "book" / "results"
FULL_HEADING = "## 完整训练的结果"
SUMMARY_HEADING = "## 小结"

# Helpers defined in the first record cell of each notebook (the notebooks do not import
# benchmarks/: they run with book/<chapter>/ as working directory).
HELPERS = '''\
def load_record(path):
    """A benchmark record (book/results/*.json, several seeds), or None if not recorded yet."""
    path = Path(path)
    if not path.exists():
        print(f"{path} not found: run `python -m benchmarks.{path.stem} --full` first")
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def pct(x):
    """0.9241 -> '92.41 %'."""
    return f"{100 * x:.2f} %"


def mean_std(stats):
    """'92.41 % ± 0.12': mean ± standard deviation over seeds of a record's summary, in %."""
    return f"{pct(stats['mean'])} ± {100 * stats['std']:.2f}"


def machine(record):
    """CPU, BLAS library, kernel and thread count of the machine that made ``record``."""
    env, blas = record["environment"], record["environment"]["blas"]
    return (f"{env['cpu_model']}; {blas['library']} {blas['version']}, {blas['kernel']} kernel, "
            f"{blas['threads']} BLAS thread(s); numpy {record['versions']['numpy']}")


def wall_per_seed(record):
    """Range of the wall time of one seed, and the machine's load average during the record."""
    times = [r["wall_time_s"] for r in record["runs"]]
    load = record["environment"]["load_average"] or ["?", "?"]
    return (f"{min(times):.0f}–{max(times):.0f} s per seed on {record['date']} "
            f"(load average {load[0]} at the start, {load[-1]} at the end)")
'''

LAB1_FULL_MD = f"""{FULL_HEADING}

上面的数字来自本页运行时的数据集和配置（见数据单元和训练单元的输出；CI 用快速模式确认这一页能运行、模型能学会）。在 MNIST 全部 55,000 张训练图片上的完整训练由基准脚本 `benchmarks/lab1_softmax_mnist.py` 完成，而且用几个不同的随机种子各训练一次：种子决定验证集的划分和小批量的顺序。只报告一次运行的准确率，读者无法知道它的最后几位是否有意义；多个种子的均值和标准差回答了这个问题。每次运行、均值、标准差、最低与最高值，以及机器（CPU、BLAS 库及其线程数）和生成它的命令都记录在 `book/results/lab1_softmax_mnist.json` 中，下表读取这个文件。任何人都可以重跑记录中的配置并与记录比较：

```bash
DLCOURSE_DATA=/path/to/data python -m benchmarks.lab1_softmax_mnist --full    # 重新记录
DLCOURSE_DATA=/path/to/data python -m benchmarks.lab1_softmax_mnist --check   # 重跑并比较
```
"""

LAB1_TABLE = HELPERS + '''

full = load_record("../results/lab1_softmax_mnist.json")
if full is not None:
    acc, cfg, desc = full["summary"]["test_accuracy"], full["config"], full["description"]
    rows = [
        ("command", f"`{full['command']}`"),
        ("check", f"`{full['check_command']}` ({full['check']['tolerance_rule']})"),
        ("training / validation / test images",
         f"{desc['n_train']:,} / {desc['n_val']:,} / {desc['n_test']:,}"),
        ("epochs, batch size, learning rate", f"{cfg['epochs']}, {cfg['batch_size']}, {cfg['lr']}"),
        ("seeds", f"{acc['n']} (each fixes the validation split and the shuffling)"),
        ("**test accuracy**, mean ± std over seeds", f"**{mean_std(acc)}**"),
        ("test accuracy, lowest / highest seed", f"{pct(acc['min'])} / {pct(acc['max'])}"),
        ("validation accuracy after the last epoch",
         mean_std(full["summary"]["final_val_accuracy"])),
        ("machine", machine(full)),
        ("wall time", wall_per_seed(full)),
    ]
    display(Markdown("| | full run |\\n|---|---|\\n" + "\\n".join(f"| {k} | {v} |" for k, v in rows)))
    assert full["mode"] == "full" and desc["n_train"] == 55_000 and acc["n"] >= 3
'''

LAB1_PROSE = '''\
# The paragraphs below are written from the records, so their numbers cannot drift from them.
if full is not None:
    curves = np.array([r["val_accuracy"] for r in full["runs"]])   # (seeds, epochs)
    late = curves[:, curves.shape[1] // 2:]                         # second half of training
    late_change = (late.max(axis=1) - late.min(axis=1)).max()      # largest change of one seed
    assert late_change < 0.02
    text = (f"完整训练的线性模型在 MNIST 测试集上的准确率为 {mean_std(acc)}（{acc['n']} 个随机种子的"
            f"均值 ± 标准差；最低 {pct(acc['min'])}，最高 {pct(acc['max'])}）。最高与最低相差 "
            f"{100 * (acc['max'] - acc['min']):.2f} 个百分点：比较两个模型时，小于这个量级的差别可能"
            "只是换了种子。这大致就是线性分类器在 MNIST 上的上限：在后一半的训练轮次里，每个种子的验证"
            f"准确率只在不超过 {100 * late_change:.1f} 个百分点的范围内波动。要突破它，模型必须能表示"
            "非线性的决策边界——下一章在输入和输出之间加入带激活函数的隐藏层")
    lab2 = load_record("../results/lab2_mlp_mnist.json")
    if lab2 is not None:
        acc2 = lab2["summary"]["test_accuracy"]
        assert acc2["min"] > acc["max"]
        text += (f"，同样的训练流程会把测试准确率提高到 {mean_std(acc2)}（实验 2，{acc2['n']} 个种子，"
                 f"由 `{lab2['command']}` 生成）。")
    else:
        text += "（实验 2）。"
    text += "\\n\\n"
    if full["check"]["kind"] == "exact":
        text += "这个实验是确定性的：同一个种子重跑得到完全相同的准确率，`--check` 逐个种子精确比较。"
    if DATASET != "MNIST":
        text += (f"本页上面的运行用的是 {DATASET}，它的数字只对这个数据集成立，不能和 MNIST 的记录"
                 "比较。")
    elif config.QUICK:
        gap = acc["mean"] - test_acc
        assert 0 <= gap < 0.05
        text += (f"本页的快速模式只用约六分之一的训练图片训练 2 轮，测试准确率为 {pct(test_acc)}，"
                 f"比完整训练的均值低 {100 * gap:.1f} 个百分点。")
    else:
        text += (f"本页上面的完整模式运行（种子 0）测试准确率为 {pct(test_acc)}；记录中种子 0 的结果为 "
                 f"{pct(full['runs'][0]['test_accuracy'])}。")
    display(Markdown(text))
'''

LAB2_FULL_MD = f"""{FULL_HEADING}

上面的数字来自快速模式。完整实验用 55,000 张训练图训练 20 轮（批量 128，Adam，学习率 $10^{{-3}}$ 按余弦曲线衰减到 0），用验证集选出最好的一轮，最后只在测试集上评估一次。20 轮的 float32 训练对舍入非常敏感：同一个种子换一个 BLAS 内核或线程数，结果就会变化几个测试样本，所以单独一次运行的数字无法复查。基准脚本 `benchmarks/lab2_mlp_mnist.py` 因此用几个随机种子（决定验证集划分、初始化和小批量顺序）各训练一次，报告均值和种子之间的波动；`--ablations` 让它在同样的种子上再以恒定学习率（`--schedule constant`）训练，作为学习率衰减的对照，逐个种子配对比较。每次运行、均值、标准差、机器（CPU、BLAS 库及其线程数）和命令都记录在 `book/results/lab2_mlp_mnist.json` 中，下面的表、图和文字都读取这个文件：

```bash
DLCOURSE_DATA=/path/to/data python -m benchmarks.lab2_mlp_mnist --full --ablations   # 重新记录
DLCOURSE_DATA=/path/to/data python -m benchmarks.lab2_mlp_mnist --check              # 重跑并比较
```

`--check` 重跑记录中注明的几个种子，只要每个结果落在记录的最低值与最高值之间（两端再放宽记录中写明的容差）就通过；表中列出了容差和它的依据。实验一的数字来自 `book/results/lab1_softmax_mnist.json`。
"""

LAB2_TABLE = HELPERS + '''

full = load_record("../results/lab2_mlp_mnist.json")
lab1_full = load_record("../results/lab1_softmax_mnist.json")
if full is not None:
    acc, cfg, desc, check = (full["summary"]["test_accuracy"], full["config"],
                             full["description"], full["check"])
    constant = full["variants"]["constant_lr"]   # written by --ablations
    acc_c, diff = constant["summary"]["test_accuracy"], constant["difference"]
    best = full["summary"]["best_epoch"]
    rows = [
        ("command", f"`{full['command']}`"),
        ("check", f"`{full['check_command']}` re-runs seeds {check['seeds']}: {check['tolerance_rule']}"
                  f" = {100 * check['tolerance']:.2f} points"),
        ("model", desc["model"]),
        ("training / validation / test images",
         f"{desc['n_train']:,} / {desc['n_val']:,} / {desc['n_test']:,}"),
        ("optimizer", f"{desc['optimizer']}, lr {cfg['lr']} ({desc['lr_schedule']})"),
        ("epochs, batch size", f"{cfg['epochs']}, {cfg['batch_size']}"),
        ("seeds", f"{acc['n']} (each fixes the split, the initialisation and the shuffling)"),
        ("selected epoch (best validation accuracy)", f"{best['min']:.0f} to {best['max']:.0f}"),
        ("**test accuracy**, mean ± std over seeds", f"**{mean_std(acc)}**"),
        ("test accuracy, lowest / highest seed", f"{pct(acc['min'])} / {pct(acc['max'])}"),
        (f"constant lr, same {acc_c['n']} seeds: test accuracy", mean_std(acc_c)),
        ("cosine − constant, paired by seed",
         f"{100 * diff['mean']:+.2f} points ({100 * diff['min']:+.2f} to {100 * diff['max']:+.2f})"),
    ]
    if lab1_full is not None:
        rows.append(("lab 1, linear softmax: test accuracy",
                     f"{mean_std(lab1_full['summary']['test_accuracy'])}"))
    rows += [("machine", machine(full)), ("wall time", wall_per_seed(full))]
    display(Markdown("| | full run |\\n|---|---|\\n" + "\\n".join(f"| {k} | {v} |" for k, v in rows)))

    def band(ax, runs, key, label, marker):
        """Mean over seeds of a per-epoch curve, with the min-max range shaded."""
        curves = np.array([r[key] for r in runs])                 # (seeds, epochs)
        ep = np.arange(1, curves.shape[1] + 1)
        ax.plot(ep, curves.mean(axis=0), marker, ms=3, label=label)
        ax.fill_between(ep, curves.min(axis=0), curves.max(axis=0), alpha=0.25)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.4))
    for r in full["runs"]:
        ax1.semilogy(np.arange(1, len(r["train_loss"]) + 1), r["train_loss"], "-", lw=1,
                     color="C0", alpha=0.6)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss")
    ax1.set_title(f"training loss, cosine schedule ({acc['n']} seeds)")
    band(ax2, full["runs"], "train_accuracy", "train (running)", "o-")
    band(ax2, full["runs"], "val_accuracy", "validation", "s-")
    band(ax2, constant["runs"], "val_accuracy", "validation, constant lr", "^-")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.set_title("accuracy: mean over seeds, shaded min-max")
    ax2.legend()
    fig.tight_layout()
    plt.show()
    assert full["mode"] == "full" and desc["n_train"] == 55_000 and acc["n"] >= 3
'''

LAB2_PROSE = '''\
# The paragraph below is written from the records, so its numbers cannot drift from them.
if full is not None:
    final_train = min(r["train_accuracy"][-1] for r in full["runs"])
    val = np.array([r["val_accuracy"] for r in full["runs"]])      # (seeds, epochs)
    late_change = (val[:, val.shape[1] // 2:].max(axis=1) - val[:, val.shape[1] // 2:].min(axis=1))
    assert final_train > 0.999 and late_change.max() < 0.01      # the claims of the text
    text = (f"上表中，完整训练的两隐藏层 ReLU 网络在 MNIST 测试集上的准确率为 {mean_std(acc)}"
            f"（{acc['n']} 个随机种子的均值 ± 标准差）")
    if lab1_full is not None:
        acc1 = lab1_full["summary"]["test_accuracy"]
        assert acc["min"] > acc1["max"]
        text += (f"，错误率从线性模型的 {100 * (1 - acc1['mean']):.1f} % 降到 "
                 f"{100 * (1 - acc['mean']):.1f} %")
    train_text = "都是 100 %" if final_train == 1.0 else f"都不低于 {pct(final_train)}"
    text += (f"；每个种子最后一轮的训练准确率{train_text}。右图中验证准确率在后期基本持平"
             f"（后一半轮次里每个种子的变化不超过 {100 * late_change.max():.1f} 个百分点）："
             "模型已经能记住训练集，进一步的提升要靠正则化（权重衰减、Dropout、数据增强，见优化与正则化"
             "一章）或者利用图像结构的卷积网络。")
    spread = max(acc["std"], acc_c["std"])
    better = "高" if diff["mean"] > 0 else "低"
    text += (f"恒定学习率的对照组在同样的 {acc_c['n']} 个种子上的测试准确率为 {mean_std(acc_c)}。"
             f"逐个种子比较，余弦衰减平均{better} {100 * abs(diff['mean']):.2f} 个百分点，各种子的差在 "
             f"{100 * diff['min']:+.2f} 与 {100 * diff['max']:+.2f} 个百分点之间"
             + ("，方向一致" if diff["consistent_sign"] else "，方向并不一致") + "。")
    if diff["exceeds_spread"] and diff["consistent_sign"]:
        text += (f"这个差别大于种子之间的波动（标准差 {100 * spread:.2f} 个百分点），而且每个种子都"
                 + ("支持学习率衰减：它有帮助，但作用不大。" if diff["mean"] > 0
                    else "支持恒定学习率：在这里衰减反而略差。"))
    else:
        text += (f"这个差别不大于种子之间的波动（标准差 {100 * spread:.2f} 个百分点）或各种子的方向"
                 "不一致：仅凭这几次运行，不能断定学习率衰减在这里有帮助。")
    display(Markdown(text))
'''

def _md(source: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    cell.id = cell_id
    return cell


def _code(source: str, cell_id: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    if tags:
        cell.metadata["tags"] = tags
    return cell


def _find(nb: nbformat.NotebookNode, cell_id: str,
          match: Callable[[nbformat.NotebookNode], bool], start: int = 0) -> int | None:
    """Index of the cell with ``cell_id``, else of the first cell from ``start`` that matches."""
    for i, cell in enumerate(nb.cells):
        if cell.get("id") == cell_id:
            return i
    for i in range(start, len(nb.cells)):
        if match(nb.cells[i]):
            return i
    return None


def _set(nb: nbformat.NotebookNode, i: int, source: str, log: list[str], what: str) -> None:
    if nb.cells[i].source != source:
        nb.cells[i].source = source
        log.append(f"rewrote {what} (cell {nb.cells[i].get('id')})")


def _upsert_after(nb: nbformat.NotebookNode, i: int, cell: nbformat.NotebookNode,
                  log: list[str]) -> int:
    """Put ``cell`` right after index ``i`` (replacing a previous copy with the same id)."""
    for j, other in enumerate(nb.cells):
        if other.get("id") == cell.id:
            if other.source != cell.source or other.metadata.get("tags") != cell.metadata.get(
                    "tags") or j != i + 1:
                nb.cells.pop(j)
                i = i - 1 if j <= i else i
                nb.cells.insert(i + 1, cell)
                log.append(f"updated generated cell {cell.id}")
            return i + 1
    nb.cells.insert(i + 1, cell)
    log.append(f"inserted generated cell {cell.id}")
    return i + 1


def _is_code_reading(name: str) -> Callable[[nbformat.NotebookNode], bool]:
    return lambda c: c.cell_type == "code" and f"../results/{name}.json" in c.source and (
        "load_record" in c.source or "result_path" in c.source)


def _has(text: str, cell_type: str = "markdown") -> Callable[[nbformat.NotebookNode], bool]:
    return lambda c: c.cell_type == cell_type and text in c.source


def _full_section(nb: nbformat.NotebookNode, cell_id: str, new_text: str,
                  log: list[str]) -> int:
    """Replace the Markdown from ``## 完整训练的结果`` to the end of its cell with ``new_text``."""
    i = _find(nb, cell_id, _has(FULL_HEADING))
    if i is None or FULL_HEADING not in nb.cells[i].source:
        i = _find(nb, "", _has(FULL_HEADING))
    if i is None:
        raise LookupError(f"no Markdown cell with {FULL_HEADING!r}")
    before = nb.cells[i].source.split(FULL_HEADING)[0]
    _set(nb, i, before + new_text.rstrip("\n"), log, "the full-run section's text")
    return i


def _summary_cell(nb: nbformat.NotebookNode, cell_id: str, after: int,
                  log: list[str]) -> int | None:
    """Drop the prose before ``## 小结`` (now generated) in the cell after the records."""
    i = _find(nb, cell_id, _has(SUMMARY_HEADING), start=after)
    if i is None:
        return None
    src = nb.cells[i].source
    if SUMMARY_HEADING in src and not src.startswith(SUMMARY_HEADING):
        _set(nb, i, SUMMARY_HEADING + src.split(SUMMARY_HEADING, 1)[1], log,
             "the summary cell (its first paragraph is now generated)")
    return i


def _sub(nb: nbformat.NotebookNode, i: int, pattern: str, repl: str, log: list[str],
         what: str) -> None:
    new = re.sub(pattern, repl, nb.cells[i].source)
    _set(nb, i, new, log, what)


def lab1_references(src: str) -> str:
    """Code that used lab 1's one-run record (``lab1["test_accuracy"]``) reads the summary.

    In an f-string ``{lab1['test_accuracy']:.4f}`` becomes mean ± std over n seeds; in a
    comparison ``x > lab1["test_accuracy"]`` compares with the best seed (``< ...``: the worst);
    anything else reads the mean.
    """
    one = r"lab1\[(?P<q>[\"'])test_accuracy(?P=q)\]"

    def summary(q: str, key: str) -> str:
        return f"lab1[{q}summary{q}][{q}test_accuracy{q}][{q}{key}{q}]"

    def fstring(m: re.Match[str]) -> str:
        q, fmt = m.group("q"), m.group("fmt")
        return (f"{{{summary(q, 'mean')}:{fmt}}} ± {{{summary(q, 'std')}:{fmt}}} over "
                f"{{{summary(q, 'n')}}} seeds")

    src = re.sub(r"\{" + one + r":(?P<fmt>[^}]*)\}", fstring, src)
    src = re.sub(r"(?P<op>>=?\s*)" + one, lambda m: m.group("op") + summary(m.group("q"), "max"),
                 src)
    src = re.sub(r"(?P<op><=?\s*)" + one, lambda m: m.group("op") + summary(m.group("q"), "min"),
                 src)
    return re.sub(one, lambda m: summary(m.group("q"), "mean"), src)


def patch_lab1(nb: nbformat.NotebookNode) -> list[str]:
    """Rewrite lab 1's full-run section; returns what changed."""
    log: list[str] = []
    md = _full_section(nb, "c13", LAB1_FULL_MD, log)
    i = _find(nb, "c14", _is_code_reading("lab1_softmax_mnist"), start=md)
    if i is None:
        raise LookupError("lab 1: no code cell reading ../results/lab1_softmax_mnist.json")
    _set(nb, i, LAB1_TABLE.rstrip("\n"), log, "the full-run table")
    j = _upsert_after(nb, i, _code(LAB1_PROSE.rstrip("\n"), "c14-prose", ["remove-input"]), log)
    k = _summary_cell(nb, "c15", j + 1, log)
    if k is not None:
        _sub(nb, k, r"在 MNIST 上约\s*\d+(?:\.\d+)?\s*%\s*的准确率(?:（[^）]*）)?",
             "在 MNIST 上的准确率（上面完整训练的记录）", log, "a summary bullet")
    return log


def patch_lab2(nb: nbformat.NotebookNode) -> list[str]:
    """Rewrite lab 2's full-run section and its use of lab 1's record; returns what changed."""
    log: list[str] = []
    i0 = _find(nb, "cell-00", _has("lab1_softmax_mnist.json"))
    if i0 is not None:
        _sub(nb, i0, r"的测试准确率约为?\s*\d+(?:\.\d+)?\s*%（记录在", "的测试准确率（记录在", log,
             "the introduction (lab 1's accuracy is printed from its record)")
    q = _find(nb, "cell-04", lambda c: c.cell_type == "code" and "lab1_softmax_mnist.json" in
              c.source and "../results/lab2" not in c.source)
    if q is not None:
        _set(nb, q, lab1_references(nb.cells[q].source), log,
             "the quick run's comparison with lab 1 (mean ± std over seeds; > every seed)")
    md = _full_section(nb, "cell-08", LAB2_FULL_MD, log)
    i = _find(nb, "cell-09", _is_code_reading("lab2_mlp_mnist"), start=md)
    if i is None:
        raise LookupError("lab 2: no code cell reading ../results/lab2_mlp_mnist.json")
    _set(nb, i, LAB2_TABLE.rstrip("\n"), log, "the full-run table and figure")
    j = _upsert_after(nb, i, _code(LAB2_PROSE.rstrip("\n"), "cell-09-prose", ["remove-input"]),
                      log)
    k = _summary_cell(nb, "cell-10", j + 1, log)
    if k is not None:
        _sub(nb, k, r"报告的数字来自固定随机种子、可重复的完整运行。",
             "报告的数字来自多个随机种子的完整运行：均值 ± 标准差，加上生成它的命令和复查它的 "
             "`--check`。", log, "a summary bullet")
    return log


def leftover_copies(nb: nbformat.NotebookNode, records: list[dict]) -> list[str]:
    """Markdown cells that still copy a recorded number: ``"<cell id>: <snippets>"``."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            hits = copies_in_text(cell.source, records)
            if hits:
                out.append(f"{cell.get('id')}: {hits}")
    return out


def load_records(results: Path = RESULTS) -> list[dict]:
    """Every record in ``results`` (``book/results``)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(results.glob("*.json"))]


def main(argv: list[str] | None = None) -> int:
    """Patch the notebooks given (default: both labs); exit 1 if copies of records remain."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[LAB1, LAB2])
    parser.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="records whose numbers must not be copied into Markdown "
                             "(default: book/results)")
    args = parser.parse_args(argv)
    patchers = {LAB1.name: patch_lab1, LAB2.name: patch_lab2}
    records = load_records(args.results)
    status = 0
    for path in args.paths:
        if path.name not in patchers:
            parser.error(f"paths: expected {sorted(patchers)}, got {path.name}")
        nb = nbformat.read(path, as_version=4)
        log = patchers[path.name](nb)
        nbformat.validate(nb)
        if log and not args.dry_run:
            nbformat.write(nb, path)
        verb = "would change" if args.dry_run else "changed"
        print(f"{path}: " + (f"{verb}: " + "; ".join(log) if log else "already up to date"))
        left = leftover_copies(nb, records)
        if left:
            status = 1
            print(f"{path}: Markdown still copies recorded numbers (edit by hand): {left}")
    return status


if __name__ == "__main__":
    sys.exit(main())
