# mohsedi: the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MOHSEDI := $(VENV)/bin/mohsedi
OUT ?= out
DB ?= sqlite:///$(OUT)/mohsedi.db
BENCH_ARGS ?=

.PHONY: install demo test lint docs bench samples clean reference-data

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The main job on the bundled samples, as the README's daily use runs it: check, fix (which
# records what it writes), ingest the remits and acknowledgments, report denials and front-end
# rejections with their root causes. The store is out/mohsedi.db, named once here as a user
# names it once in their environment or config.
demo: export MOHSEDI_DATABASE_URL = $(DB)
demo: install
	mkdir -p $(OUT)
	$(MOHSEDI) check samples/*.837 --case-log samples/case-log.csv --policy samples/policy.toml --fail-on never
	$(MOHSEDI) fix samples/*.837 --case-log samples/case-log.csv --policy samples/policy.toml -o $(OUT)/fixed --fail-on never
	$(MOHSEDI) ingest samples/*.835 samples/*.999 samples/*.277
	$(MOHSEDI) report denials
	$(MOHSEDI) report rejections

test: install
	$(PY) -m pytest -q

lint: install
	$(PY) -m ruff check mohsedi tests bench samples migrations
	$(PY) -m mypy

# docs/rules.md and the docs/rules.toml catalog snapshot, from the registry (tests fail when stale).
docs: install
	$(MOHSEDI) rules docs --write docs

# The peers (openx12, oxedi) are the `bench` extra: installed here, never for `make install`.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

# BENCH_ARGS="--quick" for a one-minute run while developing; see bench/run.py --help.
bench: $(VENV)/.bench-installed
	$(PY) bench/run.py $(BENCH_ARGS)

samples: install
	$(PY) samples/make_samples.py

clean:
	rm -rf $(OUT) bench/out .pytest_cache .hypothesis

# Rebuild mohsedi/data/reference.sqlite (whole NCCI PTP and MUE tables, ICD-10-CM codes) from the
# CSV form of a CMS release in DIR/ncci and the simple-icd-10-cm package: make reference-data REFERENCE_SOURCE=DIR.
reference-data: install
	@test -n "$(REFERENCE_SOURCE)" || { echo "make reference-data REFERENCE_SOURCE=DIR (the folder holding ncci/*.csv)"; exit 2; }
	$(PY) -m pip install --quiet -e '.[data]'
	$(PY) -m mohsedi.codes.build_reference $(REFERENCE_SOURCE)
