#!/usr/bin/env bash
# The shipped recipe (configs/ipad_clip_s.yaml) on a lent GPU machine, from bare machine to weights, in one call.
#
#   here:        python gpu/pack.py --clean-dir ../shared/data/clean      (photos and packages into .gpu/)
#   the device:  run(command="bash gpu/train.sh", carry=[".gpu"], timeout_s=600)
#
# It writes the training and validation shards with every core but one (the Makefile's `shards` spec), trains
# on the GPU, and leaves in $OUT what comes back: best.safetensors (the recipe's pick, by validation loss),
# log.csv, val.csv and times.txt (seconds per phase). Each phase prints as it ends, so a run cut off by the
# call's limit still shows how far it got. Environment overrides, for a dry run on a CPU:
# DEVICE (cuda), N and VAL_N (4096, 256 canvases), STEPS (the recipe's), WORKERS (cores - 1), WORK (/tmp/ipad-gpu),
# PACK (.gpu), PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=${PACK:-.gpu}
DEVICE=${DEVICE:-cuda}
N=${N:-4096}
VAL_N=${VAL_N:-256}
WORKERS=${WORKERS:-$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))}
WORK=${WORK:-/tmp/ipad-gpu}
OUT=${OUT:-runs/gpu}
PY=${PYTHON:-python3}
[ -d "$PACK/photos" ] || { echo "error: $PACK/photos missing: run python gpu/pack.py here and carry $PACK" >&2; exit 2; }
mkdir -p "$WORK" "$OUT"
start=$SECONDS
phase() { echo "$1 $(( SECONDS - start ))" | tee -a "$OUT/times.txt"; }

if [ -d "$PACK/packages" ]; then
  "$PY" -m pip install --quiet --no-index --no-deps --no-compile --target "$WORK/site" "$PACK"/packages/*.whl
  "$PY" -m zipfile -e "$PACK/packages/pyiqa.zip" "$WORK/site"
fi
export PYTHONPATH="$WORK/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
ipad() { "$PY" -m ipad_iqa.cli.main "$@"; }
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
phase packages

ipad make-shards --clean-dir "$PACK/photos" --out "$WORK/shards/train" --n "$N" --seed 0 --workers "$WORKERS" --quiet
phase train_shards
ipad make-shards --clean-dir "$PACK/photos" --out "$WORK/shards/val" --split val --n "$VAL_N" --seed 1 \
  --workers "$WORKERS" --quiet
phase val_shards

# Loader workers only read shards (the sample of an index does not depend on them); the GPU needs more than the
# recipe's one to stay busy.
ipad train --config configs/ipad_clip_s.yaml --device "$DEVICE" --shards "$WORK/shards/train" \
  --val-shards "$WORK/shards/val" --out "$WORK/run" --quiet --set data.num_workers="$WORKERS" \
  ${STEPS:+--set optim.steps="$STEPS"}
phase train
cp "$WORK/run/best.safetensors" "$OUT/"
for f in log.csv val.csv; do [ ! -f "$WORK/run/$f" ] || cp "$WORK/run/$f" "$OUT/"; done  # log.csv: every 10 steps
