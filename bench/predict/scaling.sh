#!/bin/sh
# bench/predict/scaling.sh: turbomode's prediction rate at 1, 2, 4, 8 and
# 16 threads (or THREADS="..."), for the two bench/predict models, with the
# speed-up over one thread. Run bench/predict/run.sh (or `make bench`) first:
# it builds the workload and the models in bench/out.
set -eu
cd "$(dirname "$0")/../.."
out=bench/out
make --no-print-directory build/release/bench_predict >/dev/null
for model in "$out/xgb_softprob.json" "${LGB_MODEL:-$out/lgb_leaves31.txt}"; do
    if [ ! -f "$model" ]; then
        echo "SKIP $model: absent (run bench/predict/run.sh first)"
        continue
    fi
    echo "-- $model ($(nproc) CPUs)"
    echo "| threads | rows/s | seconds | speed-up |"
    echo "| --- | --- | --- | --- |"
    build/release/bench_predict scale "$model" "$out/base.csv" 3 ${THREADS:-1 2 4 8 16}
done
