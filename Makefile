# The commands README.md names. Every target but the stamp is phony.
VENV ?= .venv
PYTHON3 ?= python3
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-hotpath lint docs

# Create the virtual environment if it is missing and install fcgigate into it
# (editable) with the test tools; redone whenever the metadata changes.
$(STAMP): setup.cfg pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON3) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -e '.[test]'
	touch $@

# Serve the bundled demo app (fcgigate.demo:app) as conf/dev.ini says.
run: $(STAMP)
	$(VENV)/bin/fcgigate -c conf/dev.ini

# The whole suite: unit, integration (the daemon) and e2e (nginx, cgi-fcgi).
test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

# The side-by-side benchmark (bench/README.md): quick by default, FULL=1 for
# the long run, BENCH_ARGS for anything else (e.g. BENCH_ARGS="--only access-log").
bench: $(STAMP)
	$(VENV)/bin/python bench/run.py $(if $(FULL),--full) $(BENCH_ARGS)

# The in-process hot-path benchmark (bench/README.md): fcgigate's per-request
# parsing, environ and writing beside gunicorn's and flup's, about 20 s;
# BENCH_ARGS as above (e.g. BENCH_ARGS="--rounds 3").
bench-hotpath: $(STAMP)
	$(VENV)/bin/python bench/hotpath.py $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check fcgigate tests bench

# docs/settings.md is generated from the settings registry in fcgigate/config.py.
docs: $(STAMP)
	mkdir -p docs
	$(VENV)/bin/python -m fcgigate.config --docs > docs/settings.md
