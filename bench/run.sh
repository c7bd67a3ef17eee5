#!/bin/sh
# make bench: every benchmark that is present, each against its peer
# measured in the same run. Figures go to stdout and bench/out/*.txt.
set -u
cd "$(dirname "$0")/.."
status=0
for b in predict train jobs; do
    if [ -f "bench/$b/run.sh" ]; then
        echo "== bench/$b"
        sh "bench/$b/run.sh" || status=1
    fi
done
exit $status
