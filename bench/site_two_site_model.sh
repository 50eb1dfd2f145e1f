#!/bin/bash
# The two-site model (issue 23 §4): the shipped ISBI pair fine-tuned on ISBI + the 80 Hamedan training images.
cd "$(dirname "$0")/.."
D='isbi2015:../shared/data/isbi2015-ceph-train+landmarks:../shared/data/hamedan-ceph?test=30&names=isbi2015'
R="--loss spatial_ce --schedule cosine --val-split 0.1 --seed 1"
# coarse: 128 px, from the shipped model's coarse stage (runs/twosite-coarse, 5 epochs, lr 5e-4)
[ -f runs/twosite-coarse/metrics.json ] && grep -q '"finished"' runs/twosite-coarse/metrics.json || \
  node dist/osteo.mjs train --data "$D" --init weights/osteo-isbi2015-ceph.safetensors --size 128 --sigma 2 --lr 5e-4 --batch 2 --accum 1 --epochs 5 $R --out runs/twosite-coarse
# refinement: 32 px crops of 0.14, fine-tuned from the shipped pair's refiner
node dist/osteo.mjs train --data "$D" --stage refine --coarse runs/twosite-coarse/checkpoint-best.safetensors --init weights/osteo-isbi2015-ceph.safetensors \
  --size 32 --crop 0.14 --crops 6 --sigma 1.5 --lr 5e-4 --batch 4 --accum 1 --epochs 2 $R --out runs/twosite-refine
# the refiner again, 4 more epochs (it was still improving; issue 24 §1's longer-schedule lever, bench/lever_refine_longer.sh,
# which ran this from the calibrated weights file — the same tensors as runs/twosite-refine's best checkpoint)
node dist/osteo.mjs train --data "$D" --stage refine --coarse runs/twosite-coarse/checkpoint-best.safetensors --init runs/twosite-refine/checkpoint-best.safetensors \
  --size 32 --crop 0.14 --crops 6 --sigma 1.5 --lr 2.5e-4 --batch 4 --accum 1 --epochs 4 $R --out runs/lever-refine-longer
# the shipped file: its best checkpoint with the prediction guards (docs/guards.md)
node dist/osteo.mjs calibrate --model runs/lever-refine-longer/checkpoint-best.safetensors --data "$D" --out weights/osteo-ceph-2site.safetensors
