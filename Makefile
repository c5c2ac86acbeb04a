# The two commands of the README: `make demo` and `make test`. Both build .venv on first use.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.ipad-iqa-installed
# torch and torchvision resolve from local disk here; pinning them keeps the install offline.
PINS    := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test docs bench lint clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet $(PINS) -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ipad-iqa score examples --maps-dir demo_out --out demo_out/scores.csv

test: $(STAMP)
	$(PY) -m pytest

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

lint: $(STAMP)
	$(VENV)/bin/ruff check ipad_iqa tests benchmarks

clean:
	rm -rf demo_out site build dist
