#!/bin/bash
# The second-site study's fine-tuning options (issue 23 §2): the ISBI arm again with frozen BatchNorm statistics
# (--freeze-bn) and with the encoder's first two VGG19 blocks frozen (--freeze-encoder 2), on the small sizes where
# they are meant to matter (n = 5, 10, 20, 40, 80; 2 repeats), same recipe, budget and split as bench/site_study.sh.
# Resumable: rerun to continue. Compared with the plain ISBI arm by bench/site_summary.mjs (table: bench/site_numbers.ts).
cd "$(dirname "$0")/.."
A="--init weights/osteo-isbi2015-ceph.safetensors --sizes 5,10,20,40,80 --repeats 2"
H='landmarks:../shared/data/hamedan-ceph?test=30&names=isbi2015'
R="--budget updates --epochs 3 --size 64 --loss spatial_ce --sigma 1.5 --lr 1e-3 --batch 2 --accum 1 --val-split 0.2
   --widths 8,8,16,16,32,32,32,32,64,64,64,64,64,64,64,64 --decoder 32,16,16,16,16
   --annotation-minutes-per-image 6 --cost-per-hour 60"
set -e
node dist/osteo.mjs experiment learning-curve --data "$H" $A $R --freeze-bn --out runs/study-hamedan-freeze-bn
node dist/osteo.mjs experiment learning-curve --data "$H" $A $R --freeze-encoder 2 --out runs/study-hamedan-freeze-enc2
