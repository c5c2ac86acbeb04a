# What a user runs. Every target builds .venv on first use. No target assumes where data lives: training
# reads the clean photos from DATA (or the IPAD_IQA_DATA environment variable).
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.ipad-iqa-installed
# torch and torchvision resolve from local disk here; pinning them keeps the install offline.
PINS    := torch==2.14.1 torchvision==0.29.1
CONFIG  ?= configs/ipad_clip_s.yaml
DATA    ?= $(IPAD_IQA_DATA)
DEVICE  ?= cpu

.PHONY: demo test docs bench train golden lint clean

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

# The CPU cost figures of docs/performance.md: each script writes benchmarks/results/<name>.json, report.py
# turns them into the page's tables and plots (benchmarks/gpu.py needs a GPU and is run by hand).
bench: $(STAMP)
	$(PY) benchmarks/latency.py
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/memory.py
	$(PY) benchmarks/hotspots.py
	$(PY) benchmarks/cli_soak.py
	$(PY) benchmarks/report.py

# make train [CONFIG=configs/...yaml] DATA=DIR [DEVICE=cuda]: a recipe on a folder of clean photos.
train: $(STAMP)
	$(VENV)/bin/ipad-iqa train --config $(CONFIG) --device $(DEVICE) $(if $(DATA),--clean-dir $(DATA))

# Rewrite tests/golden/ after a deliberate change of the shipped model's outputs (tests/test_golden.py).
golden: $(STAMP)
	$(PY) tests/test_golden.py

lint: $(STAMP)
	$(VENV)/bin/ruff check ipad_iqa tests benchmarks notebooks docs/scripts examples

clean:
	rm -rf demo_out site build dist
