.PHONY: book test quick chapter times ci exercises clean browser pdf

# The README's two commands.
book:
	jupyter-book build . -W --keep-going
test:
	pytest

# The developer's loop: build in quick mode (every notebook executes once), then the tests,
# which check the build's executed notebooks instead of executing them again.
quick:
	DLCOURSE_QUICK=1 jupyter-book build . -W --keep-going
	pytest

# One chapter alone, e.g. `make chapter CH=book/02_feedforward` (into _build/chapter).
CH ?= book/01_basics
chapter:
	mkdir -p _build
	python tools/toc_subset.py $(CH) -o _build/toc-chapter.yml --config-out _build/config-chapter.yml
	jupyter-book build . --toc _build/toc-chapter.yml --config _build/config-chapter.yml --path-output _build/chapter -W --keep-going

# How long the last build took to execute each notebook.
times:
	python tools/notebook_times.py _build

# What CI runs (fresh virtual environments; several minutes).
ci:
	bash .ci/run

exercises:
	python -m dlcourse.grading.make_exercises

# Sphinx's link checker on the local links (no http(s) URL is fetched: linkcheck_ignore in
# _config.yml), over the last build's executed notebooks. jupyter-book writes the report into
# _build/html; it is moved to _build/linkcheck/. The #anchors: tests/browser/test_book_links.py.
.PHONY: linkcheck
linkcheck:
	jupyter-book build . --builder linkcheck -W --keep-going; status=$$?; \
	mkdir -p _build/linkcheck; \
	mv -f _build/html/output.txt _build/html/output.json _build/linkcheck/ 2>/dev/null; \
	exit $$status

# The built book in headless Chromium, offline (needs chromium and requirements-test.txt).
browser:
	pytest -m browser tests/browser

# The book as a PDF, _build/latex/dlcourse.pdf (XeLaTeX + ctex; on Debian/Ubuntu:
#   apt-get install texlive-xetex texlive-lang-chinese texlive-latex-extra
#                   texlive-fonts-recommended latexmk poppler-utils),
# then its checks (Chinese text, formulas, figures and captions, no missing glyph). Run it
# after a `make book` (or `make quick`, with DLCOURSE_QUICK=1 for both): the PDF reuses their
# executed notebooks, and its checks count the figures in them.
pdf:
	jupyter-book build . --builder pdflatex
	pytest -m pdf tests/pdf

clean:
	rm -rf _build
