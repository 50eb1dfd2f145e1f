#!/bin/bash
# The second-site study (issue 23): learning curves on Hamedan per initialisation. Resumable: rerun to continue.
cd "$(dirname "$0")/.."
exec node dist/osteo.mjs experiment learning-curve \
  --data 'landmarks:../shared/data/hamedan-ceph?test=30&names=isbi2015' \
  --init weights/osteo-isbi2015-ceph.safetensors,scratch,imagenet --sizes 5,10,20,40,80 --repeats 2 \
  --budget updates --epochs 3 --size 64 --loss spatial_ce --sigma 1.5 --lr 1e-3 --batch 2 --accum 1 \
  --val-split 0.2 --widths 8,8,16,16,32,32,32,32,64,64,64,64,64,64,64,64 --decoder 32,16,16,16,16 \
  --annotation-minutes-per-image 6 --cost-per-hour 60 --out runs/study-hamedan "$@"
