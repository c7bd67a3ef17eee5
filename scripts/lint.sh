#!/bin/sh
# make lint: global symbols carry the tm_ prefix, no module includes a
# module above it (DESIGN: cli -> pipeline -> {sched, store, features,
# train, forest} -> core), no module includes another module's private
# header (src/M/*.h) unless the module map in README.md "Modules" allows
# it, the sources are formatted as .clang-format says (clang-format 14,
# Debian bookworm's; skipped, saying so, when it is missing or another
# major version, which may lay code out differently), and files stay under
# 600 lines (a warning). `make test` runs it.
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
# Private headers across modules: only the pairs listed here (README.md
# "Modules" gives the reason for each; none today).
private_ok() {
    case "$1 $2" in
    esac
    return 1
}
for f in src/*/*.c src/*/*.h; do
    m=$(basename "$(dirname "$f")")
    for inc in $(sed -n 's/^#include "\([a-z_]*\)\/[a-z_]*\.h".*/\1/p' "$f" | sort -u); do
        if [ "$inc" != "$m" ] && ! private_ok "$m" "$inc"; then
            echo "lint: $f includes a private header of $inc"; status=1
        fi
    done
done
cf_major=$(clang-format --version 2>/dev/null | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
if [ "$cf_major" = 14 ]; then
    unformatted=0
    for f in include/turbomode/*.h src/*/*.c src/*/*.h tests/*.c tests/*.h tests/*/*.c tests/*/*.h \
        bench/*/*.c; do
        [ -f "$f" ] || continue
        if ! clang-format --dry-run -Werror --style=file "$f" >/dev/null 2>&1; then
            echo "lint: $f is not formatted as .clang-format says (clang-format -i $f)"
            unformatted=$((unformatted + 1))
        fi
    done
    [ $unformatted -gt 0 ] && { echo "lint: $unformatted files not formatted"; status=1; }
elif [ -n "$cf_major" ]; then
    echo "lint: SKIP: clang-format $cf_major, not 14: formatting not checked"
else
    echo "lint: SKIP: clang-format not found, formatting not checked (apt-get install clang-format)"
fi
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
