"""Links to exercises on other pages, in the PDF.

sphinx-exercise 1.2 labels an exercise ``exercise:<label>`` in LaTeX and turns a reference into
a link to that label only when the reference and the exercise are on the same page (the
reference has a ``refid``). A section page's "练习" list points to the chapter's
``exercises.md``: its references carry ``refuri="%<docname>#<label>"`` instead, which the LaTeX
writer makes ``\\hyperref[<docname>:<label>]{练习 \\ref{...}}``, a label that does not exist
(an undefined reference, a dead link, and ``\\ref`` printing the section's number instead of
the exercise's). This post-transform, for the LaTeX builder only, gives those references the
node sphinx-exercise uses for its own: ``\\hyperref[exercise:<label>]{<the HTML's text>}``.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform


class ExerciseReferencesAcrossPages(SphinxPostTransform):
    builders = ("latex",)
    default_priority = 21  # before sphinx-exercise's own (22), which then leaves them alone

    def run(self, **kwargs: Any) -> None:
        from sphinx_exercise.nodes import exercise_enumerable_node, exercise_latex_number_reference

        registry = getattr(self.env, "sphinx_exercise_registry", {})
        for node in list(self.document.findall(nodes.reference)):
            uri = node.get("refuri", "")
            if node.get("refid") or not uri.startswith("%") or "#" not in uri:
                continue
            label = uri.rsplit("#", 1)[1]
            target = registry.get(label, {}).get("node")
            if not isinstance(target, exercise_enumerable_node):
                continue
            link = exercise_latex_number_reference()
            link.attributes = dict(node.attributes, refid=label)
            link += nodes.Text(node.astext())
            node.replace_self(link)


def _number_per_chapter(app: Sphinx, env: Any) -> list[str]:
    """Number exercises per chapter in the PDF as on the web pages (练习 1.3, not 练习 1.8.3).

    With parts in the table of contents, sphinx-jupyterbook-latex sets
    ``numfig_secnum_depth = 2``, which the LaTeX writer needs to reset figures and equations at
    each chapter (it counts the part as a level) but which also numbers exercises from the
    pages' section numbers, which have no part level: chapter, page, exercise. A chapter's
    exercises all live on its one ``exercises.md``, so dropping the page keeps the numbers
    unique and equal to the HTML's. Runs after Sphinx's toctree collector assigns the numbers
    (``env-get-updated``, which comes after ``env-updated``), before any page is written.
    """
    if app.builder.format != "latex":
        return []
    for numbers in env.toc_fignumbers.values():
        exercises = numbers.get("exercise")
        if exercises:
            numbers["exercise"] = {
                key: (number[0], number[-1]) if len(number) > 2 else number
                for key, number in exercises.items()
            }
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_post_transform(ExerciseReferencesAcrossPages)
    app.connect("env-get-updated", _number_per_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
