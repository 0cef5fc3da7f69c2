# The commands README.md names. Every target but the stamp is phony.
VENV ?= .venv
PYTHON3 ?= python3
STAMP := $(VENV)/.installed

.PHONY: run test bench lint docs

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

bench: $(STAMP)
	@if [ -f bench/run.py ]; then \
		$(VENV)/bin/python bench/run.py; \
	else \
		echo "bench: the benchmark suite (bench/run.py) arrives with a later issue; nothing to run yet."; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check fcgigate tests

# docs/settings.md is generated from the settings registry in fcgigate/config.py.
docs: $(STAMP)
	mkdir -p docs
	$(VENV)/bin/python -m fcgigate.config --docs > docs/settings.md
