# mohsedi: the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MOHSEDI := $(VENV)/bin/mohsedi
OUT ?= out
DB ?= sqlite:///$(OUT)/mohsedi.db
BENCH_ARGS ?=

.PHONY: install demo test lint docs bench samples clean data-subset

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The main job on the bundled samples, as the README's daily use runs it: check, fix (which
# records what it writes), ingest the remits, report denials. The store is out/mohsedi.db,
# named once here as a user names it once in their environment or config.
demo: export MOHSEDI_DATABASE_URL = $(DB)
demo: install
	mkdir -p $(OUT)
	$(MOHSEDI) check samples/*.837 --case-log samples/case-log.csv --policy samples/policy.toml --fail-on never
	$(MOHSEDI) fix samples/*.837 --case-log samples/case-log.csv --policy samples/policy.toml -o $(OUT)/fixed --fail-on never
	$(MOHSEDI) ingest samples/*.835
	$(MOHSEDI) report denials

test: install
	$(PY) -m pytest -q

lint: install
	$(PY) -m ruff check mohsedi tests bench samples migrations
	$(PY) -m mypy

# docs/rules.md and the docs/rules.toml catalog snapshot, from the registry (tests fail when stale).
docs: install
	$(MOHSEDI) rules docs --write docs

bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

samples: install
	$(PY) samples/make_samples.py

clean:
	rm -rf $(OUT) bench/out .pytest_cache .hypothesis

# Rebuild the shipped NCCI subset from the CSV form of a release: make data-subset NCCI=DIR.
data-subset: install
	@test -n "$(NCCI)" || { echo "make data-subset NCCI=DIR (the folder holding the release's CSV form)"; exit 2; }
	$(PY) -m mohsedi.codes.ncci_subset $(NCCI)
