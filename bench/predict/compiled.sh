#!/bin/sh
# bench/predict/compiled.sh MODEL INPUT.csv SKIP_COLS: turbomode compile,
# the C compiler's time on the file (cc -O2 -shared -fPIC; CC overrides
# cc), then the build beside the interpreter (bench_compiled). Skipped
# when no C compiler runs.
set -eu
cd "$(dirname "$0")/../.."
model=$1 input=$2 skip=$3
CC=${CC:-cc}
if ! "$CC" --version >/dev/null 2>&1; then
    echo "SKIP compiled model: no C compiler ($CC)"
    exit 0
fi
make --no-print-directory bin/turbomode build/release/bench_compiled >/dev/null
out=bench/out
mkdir -p "$out"
name=$(basename "$model" | sed 's/\.[^.]*$//')
t0=$(date +%s.%N)
bin/turbomode compile "$model" -o "$out/$name.c"
t1=$(date +%s.%N)
"$CC" -O2 -shared -fPIC "$out/$name.c" -o "$out/$name.so"
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v kib="$(($(wc -c < "$out/$name.c") / 1024))" \
    -v m="$model" -v cc="$CC" 'BEGIN { printf "compile %s: turbomode compile %.2f s, %d KiB of C; %s -O2 %.1f s\n", m, b - a, kib, cc, c - b }'

build/release/bench_compiled "$model" "$input" "$skip" "$out/$name.so"
