# mohsedi: the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MOHSEDI := $(VENV)/bin/mohsedi
OUT ?= out
DB ?= sqlite:///$(OUT)/mohsedi.db
BENCH_ARGS ?=

.PHONY: install demo test lint bench samples clean data-subset

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The main job on the bundled samples: check, fix, ingest the remits and acknowledgments, report
# denials and front-end rejections with their root causes.
demo: install
	mkdir -p $(OUT)
	$(MOHSEDI) check samples/*.837 --case-log samples/case-log.csv --policy samples/policy.toml --db $(DB) --fail-on never
	$(MOHSEDI) fix samples/*.837 --case-log samples/case-log.csv --policy samples/policy.toml -o $(OUT)/fixed --db $(DB) --fail-on never
	$(MOHSEDI) ingest samples/*.835 samples/*.999 samples/*.277 --db $(DB)
	$(MOHSEDI) report denials --db $(DB) --format table
	$(MOHSEDI) report rejections --db $(DB) --format table

test: install
	$(PY) -m pytest -q

lint: install
	$(PY) -m ruff check mohsedi tests bench samples migrations

bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

samples: install
	$(PY) samples/make_samples.py

clean:
	rm -rf $(OUT) bench/out .pytest_cache .hypothesis

# Rebuild the shipped NCCI subset from the CSV form of the release in ../shared/data/ncci.
data-subset: install
	$(PY) -m mohsedi.codes.ncci_subset ../shared/data/ncci
