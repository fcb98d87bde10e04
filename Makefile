.PHONY: setup test test-fast lint demo bench

setup:
	@bash scripts/setup.sh

lint: setup
	.venv/bin/ruff check src tests
	.venv/bin/ruff format --check src tests
	.venv/bin/mypy
	.venv/bin/lint-imports

# Two workers, a test module each at a time (its module-scoped servers stay in one process):
# the suite mostly waits on servers and browsers, so two halve the wall time on two cores.
# Native tracebacks: Python 3.11's AST recursion check can crash pytest's own formatting of a
# failure (cpython #106905), which killed a worker and left a module's tests unrun.
test: setup lint
	.venv/bin/pytest -n 2 --dist loadfile --durations=30 --tb=native --doctest-modules src/vigil tests

# Unit tests and doctests: no server, no browser, nothing slow (under a minute).
test-fast: setup
	.venv/bin/pytest -q -m "not integration and not slow" --hypothesis-profile=fast \
		--doctest-modules src/vigil tests

demo: setup
	.venv/bin/vigil demo $(DEMO_ARGS)

bench: setup
	.venv/bin/vigil bench ingest --readings 20000 --json
	.venv/bin/vigil bench pipeline --json
