#!/bin/sh
# bench/train/run.sh: `turbomode train` against XGBoost's hist (python3-xgboost)
# on the reference workload of issue 4 (169,400 x 100, 3 classes), both at
# THREADS (default 2) threads with the same settings: balanced class weights,
# time-ordered 80/20 split by date_index, learning rate 0.05, 31 leaves
# (lossguide), 255 bins, early stopping 50, at most 1000 rounds. Then the
# meta-learner shape (169,400 x 55). Workloads are cached under bench/out/.
# PATIENCE=0 turns early stopping off (every round: per-round speed).
set -eu
cd "$(dirname "$0")/../.."
BIN=${TM_BIN:-bin/turbomode}
GEN=../shared/bench/make_workload.py
OUT=bench/out
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1000}
PATIENCE=${PATIENCE:-50} # 0: no early stopping, every round (per-round speed)

if [ ! -f "$GEN" ]; then
    echo "bench/train: SKIP: $GEN is absent (the shared workload generator)" >&2
    exit 0
fi
if [ ! -x "$BIN" ]; then
    echo "bench/train: $BIN is missing (run make first)" >&2
    exit 1
fi
# A python3 with numpy (to generate) and one with xgboost (the peer); the
# Debian packages live in /usr/bin/python3's path.
pick() {
    for py in python3 /usr/bin/python3; do
        if "$py" -c "import $1" >/dev/null 2>&1; then
            echo "$py"
            return
        fi
    done
}
PY=$(pick numpy)
PYX=$(pick xgboost)
if [ -z "$PY" ]; then
    echo "bench/train: SKIP: no python3 with numpy to generate the workload" >&2
    exit 0
fi
mkdir -p "$OUT"

workload() { # $1 file, $2 features, $3 seed
    if [ ! -s "$1" ]; then
        echo "bench/train: generating $1 (169400 x $2)..." >&2
        "$PY" "$GEN" --rows 169400 --features "$2" --seed "$3" --out "$1.tmp"
        mv "$1.tmp" "$1"
    fi
}
workload "$OUT/train_workload.csv" 100 7
workload "$OUT/meta_workload.csv" 55 11

# key=value from the metrics JSON (flat keys only)
metric() {
    sed -n "s/^ *\"$2\": \([^,]*\),*$/\1/p" "$1" | head -n 1
}

run_tm() { # $1 input, $2 tag
    t0=$(date +%s.%N)
    "$BIN" train --input "$1" --label label --valid-fraction 0.2 --split time \
        --time-column date_index --ignore symbol_index --class-weight balanced \
        --learning-rate 0.05 --num-leaves 31 --max-bin 255 --early-stopping "$PATIENCE" \
        --max-rounds "$ROUNDS" --threads "$THREADS" --out "$OUT/$2_model.txt" \
        --metrics-json "$OUT/$2_metrics.json" >/dev/null
    t1=$(date +%s.%N)
    m="$OUT/$2_metrics.json"
    echo "turbomode $2: train_seconds=$(metric "$m" seconds)" \
        "wall_seconds_with_csv=$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")" \
        "rounds=$(metric "$m" rounds) best_iteration=$(metric "$m" best_iteration)" \
        "valid_multi_logloss=$(metric "$m" valid_multi_logloss)" \
        "valid_multi_logloss_unweighted=$(metric "$m" valid_multi_logloss_unweighted)" \
        "valid_accuracy=$(metric "$m" valid_accuracy)"
}

echo "bench/train: 169400 rows, 3 classes, time split 80/20 by date_index, balanced class" \
    "weights, lr 0.05, 31 leaves, 255 bins, early stopping $PATIENCE, max $ROUNDS rounds," \
    "$THREADS threads; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
run_tm "$OUT/train_workload.csv" train
if [ -n "$PYX" ]; then
    "$PYX" bench/train/xgb_peer.py "$OUT/train_workload.csv" "$OUT/train_workload.npy" \
        "$THREADS" "$ROUNDS" 31 "$PATIENCE"
else
    echo "bench/train: SKIP peer: no python3 with xgboost (install python3-xgboost)" >&2
fi
run_tm "$OUT/meta_workload.csv" meta
