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

.PHONY: demo test docs bench shards train golden lint clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet $(PINS) -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ipad-iqa score examples --maps-dir demo_out --out demo_out/scores.csv --overwrite

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

# make shards DATA=DIR [SHARDS=runs/shards]: IPAD-Synth v2 training and validation shards from a folder of clean
# photos (about a CPU-second per canvas; --num-shards/--shard-index split the work, see docs/training.md).
# make train [CONFIG=configs/...yaml] [DEVICE=cuda]: the recipe on those shards (a v1 config reads DATA instead).
SHARDS  ?= runs/shards
shards: $(STAMP)
	$(VENV)/bin/ipad-iqa make-shards --clean-dir $(DATA) --out $(SHARDS)/train --n 4096 --seed 0
	$(VENV)/bin/ipad-iqa make-shards --clean-dir $(DATA) --out $(SHARDS)/val --split val --n 256 --seed 1

train: $(STAMP)
	$(VENV)/bin/ipad-iqa train --config $(CONFIG) --device $(DEVICE) --shards $(SHARDS)/train \
	  --val-shards $(SHARDS)/val $(if $(DATA),--clean-dir $(DATA))

# Rewrite tests/golden/ after a deliberate change of the shipped model's outputs (tests/test_golden.py).
golden: $(STAMP)
	$(PY) tests/test_golden.py

lint: $(STAMP)
	$(VENV)/bin/ruff check ipad_iqa tests benchmarks notebooks docs/scripts examples gpu

clean:
	rm -rf demo_out site build dist

# The Results page, docs/results.md and docs/assets/results/: ipad_clip against every method that needs no
# training of its own, on the test split of the benchmark BENCH and on the real photos in REAL, then the page
# written from the two reports (docs/scripts/make_results.py). LIMIT=N reads only the first N test images, and
# the page says so. A report folder keeps its predictions, so a rerun predicts only what is missing; it is
# named after the benchmark, and evaluate refuses predictions of other weights (delete the folder then).
BENCH           ?=
REAL            ?=
LIMIT           ?=
RESULTS_OUT     ?= runs/results
RESULTS_METHODS ?= ipad_clip,ipad_clip_v1,winclip,spectral,bloom,edge_autocorr,handcrafted,piqe,entropy,psnr,ssim

.PHONY: results
results: $(STAMP)
	@test -n "$(BENCH)" || { echo "make results: set BENCH=DIR, a benchmark folder; write its test split with" \
	  "'ipad-iqa make-benchmark --clean-dir PHOTOS --out DIR --splits test' (docs/benchmark.md)"; exit 2; }
	@test -n "$(REAL)" || { echo "make results: set REAL=DIR, a folder of real photos in ghosting/, flare/ and" \
	  "moire/ subfolders, clean references named *_GT* or under blurresize/ (ipad-iqa evaluate --help)"; exit 2; }
	$(VENV)/bin/ipad-iqa evaluate --benchmark $(BENCH) --split test --methods '$(RESULTS_METHODS)' \
	  --out $(RESULTS_OUT)/$(notdir $(abspath $(BENCH)))_test --device $(DEVICE) $(if $(LIMIT),--limit $(LIMIT))
	$(VENV)/bin/ipad-iqa evaluate --real $(REAL) --methods '$(RESULTS_METHODS)' \
	  --out $(RESULTS_OUT)/$(notdir $(abspath $(REAL)))_real --device $(DEVICE)
	$(PY) docs/scripts/make_results.py --test $(RESULTS_OUT)/$(notdir $(abspath $(BENCH)))_test \
	  --real $(RESULTS_OUT)/$(notdir $(abspath $(REAL)))_real
