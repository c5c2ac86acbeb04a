#!/usr/bin/env bash
# The shipped recipe (configs/ipad_clip_s.yaml) on a lent GPU machine, from bare machine to weights, in one call.
#
#   here:        python gpu/pack.py --clean-dir ../shared/data/clean      (photos and packages into .gpu/)
#   the device:  run(command="bash gpu/train.sh", carry=[".gpu"], timeout_s=600)
#
# It writes the training and validation shards with every core but one (the Makefile's `shards` spec), trains
# on the GPU, and leaves in $OUT what comes back: run/last.safetensors (the weights of the latest validation),
# run/log.csv, run/val.csv, times.txt (seconds per phase) and train_throughput.json. Each phase prints as it ends, so a
# run cut off by the call's limit still shows how far it got. Environment overrides, for a dry run on a CPU:
# DEVICE (cuda), N and VAL_N (4096, 256 canvases), STEPS (the recipe's), WORKERS (cores - 1), WORK (/tmp/ipad-gpu),
# PACK (.gpu), PYTHON (python3), THROUGHPUT_STEPS (30 on cuda, else 0: none; it rewrites benchmarks/results/).
# Relative paths in OUT, PACK and WORK are read from the repository root, where the script runs.
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
: > "$OUT/times.txt"
start=$SECONDS
phase() { echo "$1 $(( SECONDS - start ))" | tee -a "$OUT/times.txt"; }

if [ -d "$PACK/packages" ]; then
  "$PY" -m pip install --quiet --no-index --no-deps --no-compile --target "$WORK/site" "$PACK"/packages/*.whl
  "$PY" -m zipfile -e "$PACK/packages/pyiqa.zip" "$WORK/site"
fi
export PYTHONPATH="$WORK/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
ipad() { "$PY" -m ipad_iqa.cli.main "$@"; }
"$PY" -c "import sys, torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())
sys.exit('error: DEVICE=cuda but torch sees no GPU' if '$DEVICE' == 'cuda' and not torch.cuda.is_available() else 0)"
phase packages

ipad make-shards --clean-dir "$PACK/photos" --out "$WORK/shards/train" --n "$N" --seed 0 --workers "$WORKERS" --quiet
phase train_shards
ipad make-shards --clean-dir "$PACK/photos" --out "$WORK/shards/val" --split val --n "$VAL_N" --seed 1 \
  --workers "$WORKERS" --quiet
phase val_shards

# Loader workers only read shards (the sample of an index does not depend on them); the GPU needs more than the
# recipe's one to stay busy. The run folder is in $OUT, so a call cut off by its limit still brings back the
# weights of its latest validation (last.pt, the optimizer state, is too large to come back and stays behind).
ipad train --config configs/ipad_clip_s.yaml --device "$DEVICE" --shards "$WORK/shards/train" \
  --val-shards "$WORK/shards/val" --out "$OUT/run" --quiet --set data.num_workers="$WORKERS" \
  ${STEPS:+--set optim.steps="$STEPS"}
phase train

# Last, with the weights already in $OUT: the shard-vs-on-the-fly throughput of benchmarks/train_throughput.py with
# the model on the GPU and the process (its loader workers too) pinned to 2 CPUs. Exit 1 = target missed.
if [ "${THROUGHPUT_STEPS:-$([ "$DEVICE" = cuda ] && echo 30 || echo 0)}" -gt 0 ]; then
  rm -f benchmarks/results/train_throughput.json
  rc=0
  taskset -c 0,1 "$PY" benchmarks/train_throughput.py --shards "$WORK/shards/train" --val-shards "$WORK/shards/val" \
    --clean-dir "$PACK/photos" --device "$DEVICE" --steps "${THROUGHPUT_STEPS:-30}" || rc=$?
  [ "$rc" -le 1 ] || exit "$rc"
  cp benchmarks/results/train_throughput.json "$OUT/"
  phase throughput
fi
