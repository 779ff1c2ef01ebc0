.PHONY: book test exercises clean
book:
	jupyter-book build . -W --keep-going
test:
	pytest
exercises:
	python -m dlcourse.grading.make_exercises
clean:
	rm -rf _build
