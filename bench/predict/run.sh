#!/bin/sh
# bench/predict: turbomode's batch prediction beside the peers present, on
# the reference workload (169,400 rows x 100 features, 3 classes), at 1
# and 2 threads, with load time and peak memory, for two models:
#  - XGBoost multi:softprob, 300 rounds, depth 6 (900 trees), trained by
#    python3-xgboost; peer: XGBoost's inplace_predict;
#  - LightGBM model.txt, 1000 rounds, 31 leaves, leaf-wise (3000 trees),
#    trained by `turbomode train` without early stopping, or the file
#    LGB_MODEL names; peers, when given: LightGBM (LIGHTGBM_PYTHONPATH)
#    and lleaves (LLEAVES_PYTHONPATH), see lgb_peer.py.
# With a C compiler, each model is also built by `turbomode compile` and
# timed beside the interpreter (compiled.sh; BENCH_COMPILED=0 skips it).
# Models are cached in bench/out. Ratios are only compared within one run.
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
make --no-print-directory bin/turbomode build/release/bench_predict >/dev/null
bench=build/release/bench_predict

echo "-- XGBoost model (300 rounds, depth 6, 3 classes: 900 trees)"
if "$PY" -c "import xgboost" 2>/dev/null; then
    "$PY" bench/predict/xgb_peer.py "$out" > "$out/predict_xgb_peers.txt"
    $bench load "$out/xgb_softprob.json"
    # a ~55 MB model JSON: the same 900 trees written 9 times (8,100 trees)
    [ -s "$out/xgb_big.json" ] || "$PY" bench/predict/big_model.py "$out/xgb_softprob.json" 9 \
        "$out/xgb_big.json"
    $bench load "$out/xgb_big.json"
    $bench run "$out/xgb_softprob.json" "$out/base.csv" 3 "$out/predict_xgb_peers.txt" \
        "$out/xgb_pred.csv" 1e-6
    [ "${BENCH_COMPILED:-1}" = 0 ] || sh bench/predict/compiled.sh "$out/xgb_softprob.json" "$out/base.csv" 3
else
    echo "SKIP: python3-xgboost is not installed (apt-get install python3-xgboost)"
fi

echo "-- LightGBM model (1000 rounds, 31 leaves, 3 classes: 3000 trees)"
lgb=${LGB_MODEL:-$out/lgb_leaves31.txt}
if [ ! -f "$lgb" ]; then
    echo "training it with turbomode train (1000 rounds, no early stopping) ..."
    rm -f "$out/lleaves_cache.so"
    bin/turbomode train --input "$out/base.csv" --label label \
        --ignore date_index,symbol_index --num-leaves 31 --max-rounds 1000 \
        --early-stopping 0 --threads 2 --out "$lgb"
fi
: > "$out/predict_lgb_peers.txt"
"$PY" bench/predict/lgb_peer.py "$out" "$lgb" "$out/base.csv" > "$out/predict_lgb_peers.txt" ||
    echo "lgb_peer.py failed: the LightGBM/lleaves columns are left out"
[ -n "${LIGHTGBM_PYTHONPATH:-}" ] || echo "(no LightGBM column: set LIGHTGBM_PYTHONPATH)"
[ -n "${LLEAVES_PYTHONPATH:-}" ] || echo "(no lleaves column: set LLEAVES_PYTHONPATH)"
$bench load "$lgb"
if [ -s "$out/lgb_pred.csv" ] && [ -n "${LIGHTGBM_PYTHONPATH:-}" ]; then
    $bench run "$lgb" "$out/base.csv" 3 "$out/predict_lgb_peers.txt" "$out/lgb_pred.csv" 1e-12
else
    $bench run "$lgb" "$out/base.csv" 3 "$out/predict_lgb_peers.txt"
fi
# turbomode compile of the model, built with cc -O2 (minutes for this
# model; BENCH_COMPILED=0 skips it), beside the interpreter.
[ "${BENCH_COMPILED:-1}" = 0 ] || sh bench/predict/compiled.sh "$lgb" "$out/base.csv" 3
