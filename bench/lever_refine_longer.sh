#!/bin/bash
# Issue 24 §1, the "longer schedules" lever: the two-site pair's refiner trained 2 epochs and was still improving;
# fine-tune it 4 more epochs (same data, crops and split as bench/site_two_site_model.sh, cosine from lr 2.5e-4), then
# score both pairs the same way (guards off, so only the refiner differs) on the ISBI held-out images and the Hamedan
# test images. Outputs runs/lever-refine-longer/ and bench/results/lever-refine-longer.json (node bench/lever_summary.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
D='isbi2015:../shared/data/isbi2015-ceph-train+landmarks:../shared/data/hamedan-ceph?test=30&names=isbi2015'
O=runs/lever-refine-longer
[ -f $O/metrics.json ] && grep -q '"finished"' $O/metrics.json || \
  node dist/osteo.mjs train --data "$D" --stage refine --coarse runs/twosite-coarse/checkpoint-best.safetensors --init weights/osteo-ceph-2site.safetensors \
    --size 32 --crop 0.14 --crops 6 --sigma 1.5 --lr 2.5e-4 --batch 4 --accum 1 --epochs 4 --loss spatial_ce --schedule cosine --val-split 0.1 --seed 1 --out $O
H='landmarks:../shared/data/hamedan-ceph?test=30&names=isbi2015'
I='isbi2015:../shared/data/isbi2015-ceph-train?heldout=0.1,1'
for m in base:weights/osteo-ceph-2site.safetensors longer:$O/checkpoint-best.safetensors; do
  k=${m%%:*}; f=${m#*:}
  for s in "isbi|$I|val" "hamedan|$H|test"; do
    IFS='|' read -r site spec split <<< "$s"
    r=$O/eval-$k-$site.json
    [ -s $r ] || { node dist/osteo.mjs eval --model "$f" --data "$spec" --split "$split" --no-guards --json > $r.tmp && mv $r.tmp $r; }
  done
done
