# The two commands a fresh machine needs:  make run   and   make test
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
# The CPU build of PyTorch for the semantic matcher (tests use the offline MiniLM model).
TORCH  ?= torch==2.13.0

.PHONY: run test install install-test lint bench-ingest bench-match bench-match-eval bench-stance bench-latency bench-scale clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

run: install                     ## install, migrate SQLite in storage/ and run the daemon on feeds.yaml
	$(BIN)/watcher --config feeds.yaml run

install-test: $(BIN)/python
	scripts/install-system-test-deps
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e '.[test,dev]'

test: install-test               ## install what the tests need and run the whole suite, a worker per core
	$(BIN)/python -m pytest -q -n auto

lint:
	$(BIN)/ruff check watcher storage tests bench
	$(BIN)/mypy watcher storage

bench-ingest:
	$(BIN)/python -m bench.ingest
bench-match:
	$(BIN)/python -m bench.match --data ../shared/data/fnc1
bench-match-eval:
	$(BIN)/python -m bench.match_eval --fnc ../shared/data/fnc1 --arc ../shared/data/arc
bench-stance:
	$(BIN)/python -m bench.stance --fnc ../shared/data/fnc1 --arc ../shared/data/arc
bench-latency:
	$(BIN)/python -m bench.latency
# PostgreSQL admin URL: scratch databases are created there and dropped. Several minutes; nice on a shared machine.
SCALE_DATABASE ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
bench-scale:
	nice -n 10 $(BIN)/python -m bench.scale --database $(SCALE_DATABASE)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
