#!/usr/bin/env bash
# The second-site decision (issue 23) end to end, on the CPU fallback, from the repo root after
# `npm run build`. Every step resumes or is cheap to redo; outputs:
#   runs/study-hamedan/            learning curves per initialisation (bench/site_study.sh, the long part)
#   runs/study-hamedan-freeze-*/   the ISBI arm with --freeze-bn / --freeze-encoder 2 (bench/site_study_freeze.sh)
#   docs/examples/site-hamedan/    the committed example: report.{html,json,md} of the shipped ISBI
#                                  model on Hamedan with the ISBI arm's learning curve, arms.{json,md,svg},
#                                  each arm's learning-curve.{json,md,svg}
#   bench/results/site-hamedan.json  both models on both sites (eval), the study's summary, timings
set -euo pipefail
cd "$(dirname "$0")/.."
O="node dist/osteo.mjs"
H='landmarks:../shared/data/hamedan-ceph?test=30&names=isbi2015'   # 80 train / 30 fixed test images
I='isbi2015:../shared/data/isbi2015-ceph-train?heldout=0.1,1'        # the 15 images the ISBI runs never trained on
ISBI=weights/osteo-isbi2015-ceph.safetensors
TWO=${TWO:-weights/osteo-ceph-2site.safetensors}
EX=docs/examples/site-hamedan
mkdir -p "$EX" runs/site-eval
# thresholds set in advance: the annotators' level + 50 % (1.5 x 11.78 px), a median, and a latency
T='mre<=17.7px,median<=15px,p95<=2s'
ARM=runs/study-hamedan/from-osteo-isbi2015-ceph
[ -f runs/study-hamedan/arms.json ] || { echo "run bench/site_study.sh first (the learning curves)"; exit 1; }
$O report --model $ISBI --data "$H" --split test --reference "$I" --reference-split val --thresholds "$T" \
  --learning-curve $ARM/learning-curve.json --timing-runs 5 --max-batch 4 --out "$EX"
cp runs/study-hamedan/arms.{json,md,svg} "$EX/"
for a in runs/study-hamedan/*/; do n=$(basename "$a"); mkdir -p "$EX/$n"; cp "$a"learning-curve.{json,md,svg} "$EX/$n/"; done
# the fine-tuning options (bench/site_study_freeze.sh), when run
for f in freeze-bn freeze-enc2; do
  [ -f runs/study-hamedan-$f/learning-curve.json ] || continue
  mkdir -p "$EX/$f"; cp runs/study-hamedan-$f/learning-curve.{json,md,svg} "$EX/$f/"
done
for m in isbi:$ISBI two:$TWO; do
  k=${m%%:*}; f=${m#*:}
  [ -f "$f" ] || continue
  # (re)scored when missing, empty or older than the model file; written whole or not at all (an interrupted run
  # left an empty file that a plain redirection would have taken for a result)
  score() { [ -s "$1" ] && [ "$1" -nt "$f" ] || { $O eval --model "$f" --data "$2" --split "$3" --json > "$1.tmp" && mv "$1.tmp" "$1"; }; }
  score runs/site-eval/$k-hamedan.json "$H" test
  score runs/site-eval/$k-isbi.json "$I" val
done
node bench/site_summary.mjs > bench/results/site-hamedan.json.tmp && mv bench/results/site-hamedan.json.tmp bench/results/site-hamedan.json
echo "wrote $EX and bench/results/site-hamedan.json"
# after: the two-site model's report on the same test images and thresholds
[ -f "$TWO" ] && $O report --model "$TWO" --data "$H" --split test --reference "$I" --reference-split val --thresholds "$T" \
  --timing-runs 5 --max-batch 4 --out "$EX/two-site-model"
node bench/site_summary.mjs > bench/results/site-hamedan.json.tmp && mv bench/results/site-hamedan.json.tmp bench/results/site-hamedan.json
