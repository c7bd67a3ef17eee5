#!/bin/sh
# make lint: global symbols carry the tm_ prefix, no module includes a
# module above it (DESIGN: cli -> pipeline -> {sched, store, features,
# train, forest} -> core), and files stay under 600 lines (a warning).
set -u
cd "$(dirname "$0")/.."
status=0
lib=lib/libturbomode.a
[ -f "$lib" ] || make --no-print-directory all >/dev/null
bad=$(nm -g --defined-only "$lib" | awk 'NF==3 && $2 ~ /[TDBRC]/ {print $3}' | grep -v '^tm_' | sort -u)
if [ -n "$bad" ]; then
    echo "lint: global symbols without the tm_ prefix:"; echo "$bad" | sed 's/^/  /'; status=1
fi
# allowed[module] = modules it may include
allowed() {
    case "$1" in
    core) echo "core" ;;
    forest) echo "core forest" ;;
    train) echo "core forest train" ;;
    sched|store|features) echo "core $1" ;;
    pipeline) echo "core forest train sched store features pipeline" ;;
    cli) echo "core forest train sched store features pipeline cli" ;;
    esac
}
# README's layout table states the same map.
for m in core forest train sched store features pipeline cli; do
    want=$(allowed "$m" | tr ' ' '\n' | grep -vx "$m" | sort | tr '\n' ' ')
    row=$(grep "^| \`src/$m\` |" README.md | awk -F'|' '{print $4}' | tr -d ' ' | tr ',' '\n' | grep -vx -- '-' | grep . | sort | tr '\n' ' ')
    if [ "$want" != "$row" ]; then
        echo "lint: README layout row of src/$m says '$row', the include map '$want'"; status=1
    fi
done
for dir in src/*/; do
    m=$(basename "$dir")
    ok=$(allowed "$m")
    for f in "$dir"*.c "$dir"*.h; do
        [ -f "$f" ] || continue
        for inc in $(sed -n 's/^#include [<"]\(turbomode\/\)\{0,1\}\([a-z_]*\)[/.].*/\2/p' "$f" | sort -u); do
            case " $ok turbomode " in
            *" $inc "*) ;;
            *) if [ -d "src/$inc" ]; then echo "lint: $f includes $inc (above $m)"; status=1; fi ;;
            esac
        done
    done
done
for f in src/*/*.c; do
    n=$(wc -l < "$f")
    [ "$n" -gt 600 ] && echo "lint: warning: $f has $n lines (aim for under 600)"
done
if grep -rnE '\b(exit|abort)\s*\(' src --include='*.c' | grep -v '^src/cli/'; then
    echo "lint: exit()/abort() inside the library"; status=1
fi
# Test-control points (core/testctl.c) exist only in the test build.
if grep -q TM_TEST_PAUSE_AT bin/turbomode 2>/dev/null; then
    echo "lint: bin/turbomode contains the test-control points"; status=1
fi
[ $status = 0 ] && echo "lint: ok"
exit $status
