"""Write ``book/labs.md``, the "实验 (Labs)" page, from the grader's own registry.

The page lists the seven labs of the course outline (lesson 1-7): what the student builds, which
chapter explains it, its exercise ids with their points, and the grade command. The course
facts (the outline's wording, what each lab builds, its chapters) are written once below in
:data:`LABS`; the exercise ids, points, test counts and dependencies are read from the graded
tests themselves: ``tests/exercises/`` is collected by pytest with the grading plugin installed
(its ``conftest.py``), and the plugin's validated ``@pytest.mark.exercise(id, points=...)``
markers are what ``dlcourse grade`` scores. So the page cannot drift from the grader:
``tests/test_labs_page.py`` runs ``--check``, which regenerates the page and fails when the
committed file differs, when a lab marked planned has graded tests, or when a graded ``labN``
module belongs to no lab.

Usage::

    python tools/labs_page.py            # rewrite book/labs.md
    python tools/labs_page.py --check    # exit 1 if book/labs.md is stale
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = Path("book/labs.md")


@dataclass(frozen=True)
class Lab:
    """One lab of the course outline.

    Attributes:
        number: the outline's lesson number (1-7).
        outline: the outline's own wording of the lesson (quoted on the page).
        builds: what the student builds, in one sentence.
        chapters: ``(docname relative to book/, title)`` of the pages that explain it.
        module: the grader's module (``exercises/<module>.py``), or ``None`` while planned.
        planned: what is still to be written (empty when the lab is complete).
    """

    number: int
    outline: str
    builds: str
    chapters: tuple[tuple[str, str], ...]
    module: str | None
    planned: str = ""


LABS: tuple[Lab, ...] = (
    Lab(
        1, "线性层设计, SGD 优化器设计, 损失函数设计, 在 MNIST 上测试线性模型性能",
        "线性层的前向与反向传播、softmax 交叉熵损失及其梯度、SGD 的一步更新和完整的训练循环，"
        "在 MNIST 上训练 softmax 回归",
        (("01_basics/04_lab1_softmax_mnist", "实验 1：softmax 回归识别 MNIST"),
         ("01_basics/02_linear_models", "线性模型")),
        "lab1",
    ),
    Lab(
        2, "激活函数, Adam 优化器, 在 MNIST 上测试神经网络性能",
        "ReLU、Sigmoid、Tanh 的前向与反向传播，Adam 的一步更新，搭建并训练多层感知器",
        (("02_feedforward/06_lab2_mlp_mnist", "实验二：MLP 识别 MNIST"),
         ("02_feedforward/01_neurons_activations", "神经元与激活函数"),
         ("03_optimization/04_adaptive_optimizers", "自适应学习率")),
        "lab2",
    ),
    Lab(
        3, "卷积层和池化层,搭建能在 Cifar-10 上达到 70 测试集正确率的 CNN",
        "输出尺寸公式、im2col 与 col2im、卷积层的前向与反向传播、最大汇聚与平均汇聚，"
        "再用它们训练一个小 CNN",
        (("04_cnn/05_lab3_cnn", "实验三：从零实现卷积网络"),
         ("04_cnn/01_convolution", "卷积"),
         ("04_cnn/02_pooling", "汇聚"),
         ("04_cnn/04_cifar10", "CIFAR-10")),
        "lab3",
    ),
    Lab(
        4, "RNN 模块设计,实现字符级 RNN 分类器",
        "循环层的前向传播与随时间反向传播（BPTT），字符级 RNN 分类器",
        (("05_rnn/index", "循环神经网络"),),
        None,
        "整个实验随第 5 章一起编写",
    ),
    Lab(
        5, "BatchNorm 和 Dropout 模块设计,收敛速度测试与比较",
        "BatchNorm 的前向（训练与评估模式）与反向传播、反向 Dropout，"
        "比较有无 BatchNorm / Dropout 时的收敛速度",
        (("03_optimization/08_lab5_bn_dropout", "实验五：BatchNorm 与 Dropout"),
         ("03_optimization/07_normalization", "逐层归一化"),
         ("03_optimization/06_regularization", "正则化")),
        "lab5",
    ),
    Lab(
        6, "Embedding 模块和 Unpooling 模块设计,实现 Word2Vec 算法和卷积自编码器",
        "Embedding 层与反汇聚（Unpooling）层，Word2Vec 与卷积自编码器",
        (("06_unsupervised/index", "无监督学习与生成模型"),
         ("04_cnn/02_pooling", "汇聚（反汇聚与上采样）")),
        None,
        "整个实验随第 6 章一起编写",
    ),
    Lab(
        7, "神经网络模型的应用,CNN 可视化解释,GAN 图像生成和深度强化学习",
        "CNN 可视化：类别得分对输入的梯度与显著图（已完成）；GAN 图像生成与深度 Q 网络（计划中）",
        (("04_cnn/04_cifar10", "CIFAR-10（CNN 可视化）"),
         ("06_unsupervised/index", "无监督学习与生成模型（GAN）"),
         ("07_rl/index", "强化学习（DQN）")),
        "lab7",
        "GAN 与深度强化学习两部分随第 6、7 章一起编写",
    ),
)


@dataclass
class Exercise:
    """One graded exercise as the grader scores it: the sum of its tests' points."""

    id: str
    points: int = 0
    tests: int = 0
    depends: list[str] = field(default_factory=list)


def collect_registry(root: Path = ROOT) -> dict[str, list[Exercise]]:
    """The graded exercises of ``root/tests/exercises`` by module, in collection order.

    Collects the tests (nothing runs) with the grading plugin that ``dlcourse grade`` uses and
    reads its validated markers (``GradingPlugin.info``).

    Raises:
        RuntimeError: collection failed (pytest's output is in the message).
    """
    import pytest

    from dlcourse.grading.plugin import GradingPlugin

    seen: dict[str, dict[str, Any]] = {}

    class _Reader:
        @pytest.hookimpl(trylast=True)
        def pytest_collection_finish(self, session: pytest.Session) -> None:
            plugin = session.config.pluginmanager.get_plugin(GradingPlugin.NAME)
            if plugin is not None:
                seen.update(plugin.info)

    saved = os.environ.pop("DLCOURSE_GRADE_SELECT", None)  # collect every exercise
    out = io.StringIO()
    try:
        with contextlib.chdir(root), contextlib.redirect_stdout(out):
            code = pytest.main(
                ["--collect-only", "-q", "-p", "no:cacheprovider", "tests/exercises"],
                plugins=[_Reader()],
            )
    finally:
        if saved is not None:
            os.environ["DLCOURSE_GRADE_SELECT"] = saved
    if code != 0 or not seen:
        raise RuntimeError(f"collecting tests/exercises failed (exit {code}):\n{out.getvalue()}")
    registry: dict[str, dict[str, Exercise]] = {}
    for info in seen.values():
        ex_id = info["exercise"]
        module = registry.setdefault(ex_id.split(".", 1)[0], {})
        ex = module.setdefault(ex_id, Exercise(ex_id))
        ex.points += info["points"]
        ex.tests += 1
        ex.depends += [d for d in info["depends"] if d not in ex.depends]
    return {m: list(exs.values()) for m, exs in registry.items()}


def _check(labs: tuple[Lab, ...], registry: dict[str, list[Exercise]]) -> None:
    """Refuse a page that would disagree with the grader."""
    numbers = [lab.number for lab in labs]
    if numbers != list(range(1, 8)):
        raise ValueError(f"labs: expected the outline's lessons 1-7 in order, got {numbers}")
    for lab in labs:
        if lab.module is None and f"lab{lab.number}" in registry:
            raise ValueError(
                f"lab {lab.number}: listed as planned, but tests/exercises grades "
                f"module lab{lab.number}; give it module='lab{lab.number}'"
            )
        if lab.module is not None and lab.module not in registry:
            raise ValueError(
                f"lab {lab.number}: module {lab.module!r} has no graded test in tests/exercises"
            )
    known = {lab.module for lab in labs}
    stray = sorted(m for m in registry if m.startswith("lab") and m not in known)
    if stray:
        raise ValueError(f"registry: graded modules {stray} belong to no lab in LABS")


def _chapter_exercises(root: Path) -> dict[str, str]:
    """``chNN`` -> the docname (relative to book/) of chapter NN's exercises page."""
    pages = {}
    for page in sorted((root / "book").glob("[0-9][0-9]_*/exercises.md")):
        pages[f"ch{page.parent.name[:2]}"] = f"{page.parent.name}/exercises"
    return pages


def _exercise_table(exercises: list[Exercise]) -> list[str]:
    lines = ["| 练习 | 分值 | 测试数 | 依赖 |", "|---|---|---|---|"]
    for ex in exercises:
        deps = "、".join(f"`{d}`" for d in ex.depends) or "—"
        lines.append(f"| `{ex.id}` | {ex.points} | {ex.tests} | {deps} |")
    return lines


def render(registry: dict[str, list[Exercise]], root: Path = ROOT,
           labs: tuple[Lab, ...] = LABS) -> str:
    """The Markdown of ``book/labs.md`` for ``registry`` (see :func:`collect_registry`).

    Raises:
        ValueError: ``labs`` and ``registry`` disagree (a planned lab with graded tests, a lab
            module without any, or a graded ``labN`` module that no lab claims).
    """
    _check(labs, registry)
    total = {m: sum(e.points for e in exs) for m, exs in registry.items()}
    out = [
        "<!-- GENERATED by `python tools/labs_page.py` from the graded tests in "
        "tests/exercises/: edit tools/labs_page.py, not this file. -->",
        "",
        "(labs)=",
        "# 实验 (Labs)",
        "",
        "课程大纲共有七次实验。每个已完成的实验由三部分组成：书中讲解它的页面，"
        "`exercises/` 中留给你填写的模块（每个要实现的地方是一行 "
        "`raise NotImplementedError(\"exercise <编号>\")`），"
        "以及自动评分的测试。评分命令是 `dlcourse grade <模块>`，例如 `dlcourse grade lab1`。",
        "",
        "本页由 `python tools/labs_page.py` 从评分器自己的登记生成：表中的练习编号、分值和测试数"
        "就是 `tests/exercises/` 中各测试的 `@pytest.mark.exercise(编号, points=...)` 标记，"
        "测试会重新生成本页并与提交的版本比较，所以本页不会与评分器不一致。",
        "",
        "**计分方式**：一个练习的分值是它所有测试的分值之和；只有它的测试全部通过才得分（全有或全无）。"
        "“依赖”一栏列出的练习若没有完成，这个练习的测试也会失败，应先完成被依赖的练习。",
        "",
        "## 总览",
        "",
        "| 实验 | 学生要实现的内容 | 讲解的章节 | 评分命令与总分 |",
        "|---|---|---|---|",
    ]
    for lab in labs:
        first, title = lab.chapters[0]
        where = f"{{doc}}`{title} <{first}>`"
        if lab.module is None:
            grading = "计划中"
        else:
            grading = f"`dlcourse grade {lab.module}`，{total[lab.module]} 分"
            grading += "（部分完成）" if lab.planned else ""
        out.append(  # a no-break space keeps "实验 1" on one line in the narrow column
            f"| {{ref}}`实验\u00a0{lab.number} <labs-lab{lab.number}>` | {lab.builds} "
            f"| {where} | {grading} |"
        )
    out += [
        "",
        "(labs-binder)=",
        "## 在 Binder 中完成一个实验",
        "",
        "1. 打开实验的页面（例如{doc}`实验 1 <01_basics/04_lab1_softmax_mnist>`），点页面顶部的"
        "火箭图标，选择 **Binder**。Binder 为本仓库建立一个临时环境：按 `requirements.txt` "
        "安装依赖，其最后一行安装 `dlcourse` 本身，所以 `dlcourse` 命令可以直接使用；"
        "然后在 JupyterLab 中打开这一页的 notebook。",
        "2. 在 JupyterLab 左侧的文件浏览器中回到仓库的根目录，打开 `exercises/lab1.py`。"
        "模块开头的说明列出要写的函数；把每一行 `raise NotImplementedError(\"exercise ...\")` "
        "换成你的实现，然后保存（Ctrl+S）。",
        "3. 回到 notebook，新建一个代码单元并运行 `!dlcourse grade lab1`。评分器在新的进程中导入"
        "你保存的文件并运行测试，每个练习打印一行得分，失败的练习给出第一条错误信息；"
        "改完再保存、再运行这一行即可，不必重启内核。只评一个练习："
        "`!dlcourse grade lab1.linear_forward`。",
        "4. Binder 的环境是临时的：长时间不操作就会被回收，其中的文件也随之消失。"
        "做完后在文件浏览器中右键 `exercises/lab1.py`，选 **Download** 保存到自己的电脑。",
        "",
        "在自己的电脑上，按仓库 README 安装（`pip install -r requirements.txt`）后，"
        "在仓库中的任何位置运行 `dlcourse grade lab1` 即可；`dlcourse grade --help` 列出所有模块"
        "和练习编号。",
        "",
    ]
    for lab in labs:
        out += [f"(labs-lab{lab.number})=", f"## 实验 {lab.number}", ""]
        out += [f"课程大纲第 {lab.number} 讲：“{lab.outline}”", ""]
        out += [f"**要实现的内容**：{lab.builds}。", ""]
        docs = "、".join(f"{{doc}}`{title} <{doc}>`" for doc, title in lab.chapters)
        out += [f"**讲解的章节**：{docs}。", ""]
        if lab.module is None:
            out += [f"**状态**：计划中，{lab.planned}。", ""]
            continue
        out += [
            f"**评分**：在 `exercises/{lab.module}.py` 中完成练习，运行 "
            f"`dlcourse grade {lab.module}`（在 notebook 中为 `!dlcourse grade {lab.module}`）；"
            f"共 {len(registry[lab.module])} 个练习，{total[lab.module]} 分。",
            "",
        ]
        if lab.planned:
            out += [f"**状态**：部分完成，{lab.planned}。", ""]
        out += [*_exercise_table(registry[lab.module]), ""]
    chapters = _chapter_exercises(root)
    modules = sorted(m for m in registry if m.startswith("ch"))
    missing = [m for m in modules if m not in chapters]
    if missing:
        raise ValueError(f"registry: chapter modules {missing} have no book/NN_*/exercises.md")
    out += [
        "(labs-chapters)=",
        "## 各章练习",
        "",
        "除实验外，各章的练习页也有自动评分的编程练习，评分方式相同：",
        "",
        "| 模块 | 练习页 | 评分命令 | 练习数 | 总分 |",
        "|---|---|---|---|---|",
    ]
    for m in modules:
        out.append(
            f"| `exercises/{m}.py` | {{doc}}`第 {int(m[2:])} 章练习 <{chapters[m]}>` "
            f"| `dlcourse grade {m}` | {len(registry[m])} | {total[m]} |"
        )
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite ``book/labs.md``, or with ``--check`` report whether it is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    text = render(collect_registry(ROOT), ROOT)
    path = ROOT / PAGE
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{PAGE} is stale: run `python tools/labs_page.py`")
            return 1
        print(f"{PAGE} is up to date")
        return 0
    path.write_bytes(text.encode("utf-8"))
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
