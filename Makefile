# The two commands of the README: `make demo` and `make test`. Both build .venv on first use.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.ipad-iqa-installed
# torch and torchvision resolve from local disk here; pinning them keeps the install offline.
PINS    := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test docs bench lint clean ablations

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
	$(VENV)/bin/ruff check ipad_iqa tests benchmarks notebooks docs/scripts examples

clean:
	rm -rf demo_out site build dist

# Trained baselines and IPAD-CLIP ablations on the same data, then one evaluation of all of them.
# The CLIP-based ones train heads on the stage-1 ipad_clip towers, frozen (init_towers), and are compared with
# the stage-1 ipad_clip and winclip on those towers (--checkpoint ...=$(STAGE1)); manip and segnet
# train from scratch. Inference-only ablations reuse the ipad_ref checkpoint: ipad_ref[cls_weight=1.0]
# (class-token-only score), ipad_ref[tiling=false] (224-px global view only). On a 2-core CPU the CLIP-based
# runs took about 4 min each (18-23 samples/s); segnet and manip (1,500 x 16 from scratch) took 40 and 57 min
# (9.9 and 7.1 samples/s).
CLEAN_DIR ?= ../shared/data/clean
SPLIT     ?= test
DEVICE    ?= cpu
ABL_OUT   ?= runs/ablations_report
TRAINED   := ablations/ipad_ref ablations/ipad_agnostic ablations/ipad_no_adapt \
             baselines/aprilgan baselines/anomalyclip baselines/manip baselines/segnet
ABL_METHODS := ipad_clip[class_token_view=global],ipad_ref,ipad_ref[cls_weight=1.0],ipad_ref[tiling=false],ipad_agnostic,ipad_no_adapt,winclip,aprilgan,anomalyclip,manip,segnet

# $(call recover,COMMIT,SHA256): the ipad_clip weights shipped at COMMIT, recovered from git and checked.
define recover
mkdir -p $(dir $@)
git show $(1):ipad_iqa/assets/ipad_clip_s.safetensors > $@.tmp
echo "$(2)  $@.tmp" | sha256sum --check --quiet
mv $@.tmp $@
endef

# Stage 1, the first shipped weights: the start of configs/ipad_clip_s_stage2.yaml and the frozen towers of
# the ablations. Stage 2: the start of configs/ipad_clip_s_stage3.yaml. Stage 3: the start of
# configs/ipad_clip_s_stage4.yaml and configs/ipad_clip_s_stage5.yaml. Stage 5: the start of
# configs/ipad_clip_s_stage6.yaml and configs/ipad_clip_s_stage7.yaml. Stage 7: the start of
# configs/ipad_clip_s_stage8.yaml.
STAGE1 := runs/ipad_clip_s_stage1/ipad_clip_s.safetensors
STAGE2 := runs/ipad_clip_s_stage2/ipad_clip_s.safetensors
STAGE3 := runs/ipad_clip_s_stage3/ipad_clip_s.safetensors
STAGE5 := runs/ipad_clip_s_stage5/ipad_clip_s.safetensors
STAGE7 := runs/ipad_clip_s_stage7/ipad_clip_s.safetensors
$(STAGE1):
	$(call recover,ba86e87,a746ace368f306fb77d87adce9cfbf2c54c9ca0a3faf2be44590602fd2b2e488)
$(STAGE2):
	$(call recover,b1a5d78,c89fa6ee2fc946cdbccfbdc657ed8f4b61648ae236050d888f09f283a7b45a97)
$(STAGE3):
	$(call recover,741a5a2,133620e3cb2fd7962af97424218ac24ca80c6e62ab37d05c0be329d23f89a6ca)
$(STAGE5):
	$(call recover,b3dc57f,daddcc34259ffc3dc47acfb0b532452a330d8dfdfdc19c65334349fcae1b4d6f)
$(STAGE7):
	$(call recover,99da445,2073bbf7d79ca2670a51575cf6e36d1d0ac2396d998e1b5307a412bc3a1e5aa2)

ablations: $(STAMP) $(STAGE1)
	set -e; for c in $(TRAINED); do \
	  $(VENV)/bin/ipad-iqa train --config configs/$$c.yaml --clean-dir $(CLEAN_DIR) --device $(DEVICE); \
	done
	$(VENV)/bin/ipad-iqa evaluate --benchmark $(BENCH) --split $(SPLIT) --device $(DEVICE) --out $(ABL_OUT) \
	  --methods '$(ABL_METHODS)' $(foreach c,$(TRAINED),--checkpoint $(notdir $(c))=runs/$(c)/best.safetensors) \
	  --checkpoint ipad_clip=$(STAGE1) --checkpoint winclip=$(STAGE1)

# The Results page, docs/results.md and docs/assets/results/: ipad_clip against every method that needs no
# training of its own, on the test split of the benchmark BENCH and on the real photos in REAL, then the page
# written from the two reports (docs/scripts/make_results.py). LIMIT=N reads only the first N test images, and
# the page says so. A report folder keeps its predictions, so a rerun predicts only what is missing; it is
# named after the benchmark, and evaluate refuses predictions of other weights (delete the folder then).
BENCH           ?=
REAL            ?=
LIMIT           ?=
RESULTS_OUT     ?= runs/results
RESULTS_METHODS ?= ipad_clip,winclip,spectral,bloom,edge_autocorr,handcrafted,piqe,entropy,psnr,ssim

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
