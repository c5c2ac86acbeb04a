#!/bin/bash
# Rule d605da0: ghost-offset label + displaced-copy stem cue, equal compute (1,176 steps), then the rule's evaluations.
set -x
while ! grep -q '^DONE' /work/data/runs/offset50_eval.log; do sleep 20; done  # the previous run's evaluations first
export PYTHONPATH=/work/wt-offcue
cd /work/wt-offcue
RUN=/work/data/runs/offcue
PY=/work/main/.venv/bin
if [ ! -f $RUN/DONE ]; then
  $PY/ipad-iqa train --config configs/ipad_clip_s.yaml --shards /work/data/shards_train --val-shards /work/data/shards_val --set loss.displacement=1 --set arch.displacement_head=true --set arch.ghost_cue=true '--set' 'init_fresh=[decoder.,dense_adapter.,displacement.]' --set optim.steps=1176 --set out_dir=$RUN && touch $RUN/DONE
fi
$PY/python - <<'PY'
from ipad_iqa.weights import read_checkpoint, save_weights
s, m = read_checkpoint('/work/data/runs/offcue/best.safetensors')
s = {k: v for k, v in s.items() if not k.startswith('displacement.')}
m.pop('format', None); m['config']['arch'].pop('displacement_head', None)
save_weights(s, '/work/data/runs/offcue/maps_only.safetensors', m)
PY
W=$RUN/maps_only.safetensors  # best.safetensors less the training-only offset head
$PY/python benchmarks/offset_error.py --val-shards /work/data/shards_val --weights $RUN/best.safetensors --samples 256
$PY/ipad-iqa evaluate --benchmark /work/data/ipad_synth_v2_val --split val --methods ipad_clip --checkpoint ipad_clip=$W --out /work/data/runs/val50_offcue --device cpu --batch-size 4 --quiet
$PY/ipad-iqa evaluate --real /work/main/../shared/data/real_val --methods ipad_clip --checkpoint ipad_clip=$W --out /work/data/runs/real50_offcue --device cpu --batch-size 4 --bootstrap 2000 --quiet
$PY/ipad-iqa score /work/main/examples --out /work/data/runs/demo50_offcue.csv --overwrite --head-weights $W
echo DONE
