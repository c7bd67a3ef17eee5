#!/bin/sh
# bench/predict: turbomode's batch prediction vs XGBoost's inplace_predict
# on the reference workload (169,400 rows x 100 features, 3 classes), an
# XGBoost multi:softprob model (300 rounds, depth 6), 1 and 2 threads.
set -eu
cd "$(dirname "$0")/../.."
out=bench/out
PY=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
gen=../shared/bench/make_workload.py
if [ ! -f "$out/base.csv" ]; then
    if [ ! -f "$gen" ]; then
        echo "SKIP bench/predict: $gen is absent (the shared reference workload generator)"
        exit 0
    fi
    "$PY" "$gen" --rows 169400 --features 100 --seed 7 --out "$out/base.csv"
fi
if ! "$PY" -c "import xgboost" 2>/dev/null; then
    echo "SKIP bench/predict: python3-xgboost is not installed (apt-get install python3-xgboost)"
    exit 0
fi
make --no-print-directory build/release/bench_predict >/dev/null
"$PY" bench/predict/xgb_peer.py "$out" | tee "$out/predict_peer.txt"
x1=$(sed -n 's/^xgboost threads=1 rows_per_s=//p' "$out/predict_peer.txt")
x2=$(sed -n 's/^xgboost threads=2 rows_per_s=//p' "$out/predict_peer.txt")
build/release/bench_predict "$out/xgb_softprob.json" "$out/predict_input.csv" \
    "$out/xgb_pred.csv" "$x1" "$x2" | tee "$out/predict.txt"
