#!/bin/sh
# make demo: a fresh demo database from data/ (82 stocks, 2013-2018, VIX),
# backfilled training samples, the 8 base models and the meta-learner
# trained as of the end of 2017, then the last five weeks of the data
# replayed night by night on the real schedule (scans, outcome tracking,
# sample generation, the gated meta retrain, the monthly model retrain),
# the latest signals and the last retrain's report, and finally the
# evaluation of the replayed weeks against the baselines (HTML report).
set -eu
cd "$(dirname "$0")/.."
BIN=${TM_BIN:-bin/turbomode}
DIR=${DEMO_DIR:-build/demo}
# Demo-sized training: a third of the boosting rounds (the models stop
# early well before that) and 2 folds; DEMO_ROUNDS_SCALE=1 DEMO_FOLDS=3
# gives the production settings (about twice the time).
SCALE=${DEMO_ROUNDS_SCALE:-0.3}
FOLDS=${DEMO_FOLDS:-2}
DB=$DIR/turbomode.db
rm -rf "$DIR"
mkdir -p "$DIR"
start=$(date +%s)
step() { echo; echo "== $*"; }

step "import data/ (82 stocks + VIX)"
"$BIN" import-prices --db "$DB" data/prices_curated_82.csv.gz
"$BIN" import-prices --db "$DB" --symbol '^VIX' data/vix_2013_2018.csv.gz
step "backfill training samples as of 2017-12-29"
"$BIN" backfill --db "$DB" --as-of 2017-12-29
step "train the 8 base models and the meta-learner as of 2017-12-29"
"$BIN" model-retrain --db "$DB" --as-of 2017-12-29 --rounds-scale "$SCALE" --folds "$FOLDS"
step "replay 2018-01-02 .. 2018-02-07 on the schedule (simulated clock)"
"$BIN" replay --db "$DB" --from 2018-01-02 --to 2018-02-07 --rounds-scale "$SCALE" --folds "$FOLDS"
sqlite3 -column "$DB" "SELECT job, status, count(*) AS runs FROM job_results
    GROUP BY job, status ORDER BY job, status" 2>/dev/null || true
step "latest signals and the last retrain's report"
"$BIN" signals --db "$DB"
step "evaluation of the replayed weeks: system vs baselines"
"$BIN" evaluate --db "$DB" --from 2018-01-02 --to 2018-02-07 \
    --html "$DIR/evaluation.html" --json "$DIR/evaluation.json"
echo
echo "demo: done in $(( $(date +%s) - start )) s; database $DB"
