#!/bin/sh
# make walkforward: the system walked forward over two years on a larger
# universe than the demo's, on the real schedule, then judged by
# `turbomode evaluate` against the baselines.
#
# Universe: the stocks of ../shared/data/market/all_stocks_5yr.csv.gz with a
# complete history (all 1,259 dates, 2013-02-08 .. 2018-02-07: 470 of the
# 505), in byte order of the ticker, every third one from the first (157
# stocks). The rule reads no returns. The file itself is the S&P 500 of
# April 2018, so every stock in it survived to 2018: that survivorship comes
# with the data and is not corrected here; requiring a complete history adds
# no more (every stock ends on 2018-02-07).
#
# Steps: import the universe and VIX, backfill the training samples as of
# 2015-12-31, train the base models and the meta-learner as of that day,
# replay 2016-01-04 .. 2018-02-07 night by night on the built-in schedule
# (only the meta retrain's 2026 start date removed, so its 42-day gate runs
# in the replayed years), and evaluate every signal day whose horizon ended
# by 2018-02-07.
#
# Settings: a third of the boosting rounds, 2 folds, no comparison model
# (it only adds a figure to the retrain report). See the README for what
# a run costs. WF_ROUNDS_SCALE, WF_FOLDS, WF_EVERY (every k-th
# stock), WF_FROM, WF_TO and WF_DIR override them.
set -eu
cd "$(dirname "$0")/.."
BIN=${TM_BIN:-bin/turbomode}
DIR=${WF_DIR:-build/walkforward}
MARKET=${TM_SHARED:-../shared}/data/market/all_stocks_5yr.csv.gz
SCALE=${WF_ROUNDS_SCALE:-0.3}
FOLDS=${WF_FOLDS:-2}
EVERY=${WF_EVERY:-3}
START=${WF_START:-2015-12-31}
FROM=${WF_FROM:-2016-01-04}
TO=${WF_TO:-2018-02-07}
DB=$DIR/turbomode.db
if [ ! -r "$MARKET" ]; then
    echo "walkforward: $MARKET not found (set TM_SHARED to the shared data)" >&2
    exit 2
fi
rm -rf "$DIR"
mkdir -p "$DIR"
start=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }

step "universe: complete histories, every stock in $EVERY by ticker"
gzip -dc "$MARKET" | awk -F, 'NR > 1 { n[$7]++ } END { for (t in n) if (n[t] == 1259) print t }' |
    LC_ALL=C sort | awk -v k="$EVERY" '(NR - 1) % k == 0' >"$DIR/universe.txt"
echo "$(wc -l <"$DIR/universe.txt") stocks: $DIR/universe.txt"
gzip -dc "$MARKET" | awk -F, 'NR == FNR { keep[$1] = 1; next } FNR == 1 || ($7 in keep)' \
    "$DIR/universe.txt" - >"$DIR/prices.csv"
"$BIN" import-prices --db "$DB" "$DIR/prices.csv"
"$BIN" import-prices --db "$DB" --symbol '^VIX' data/vix_2013_2018.csv.gz
rm -f "$DIR/prices.csv"

# The built-in schedule without the meta retrain's start date.
cat >"$DIR/schedule.conf" <<'CONF'
[job overnight_scan]
command = {turbomode} scan --db {db} --as-of {as_of}
hour = 23
minute = 0
misfire_grace_time = 3600
skip_exit = 3
resources = database, signals
[job outcome_tracker]
command = {turbomode} track-outcomes --db {db} --as-of {as_of}
hour = 2
minute = 0
misfire_grace_time = 3600
skip_exit = 3
resources = database, signal_outcomes
[job sample_generator]
command = {turbomode} generate-samples --db {db} --as-of {as_of}
day_of_week = sun
hour = 3
minute = 0
misfire_grace_time = 3600
skip_exit = 3
resources = database, training_samples
[job meta_retrain]
command = {turbomode} meta-retrain --db {db} --as-of {as_of}
day_of_week = sun
hour = 23
minute = 45
misfire_grace_time = 3600
skip_exit = 3
resources = database, meta_predictions, meta_model
[job model_retrain]
command = {turbomode} model-retrain --db {db} --as-of {as_of}
day = 1
hour = 4
minute = 0
misfire_grace_time = 3600
skip_exit = 3
resources = database, base_models, meta_model, meta_predictions
CONF

step "backfill training samples as of $START"
"$BIN" backfill --db "$DB" --as-of "$START"
step "train the base models and the meta-learner as of $START"
"$BIN" model-retrain --db "$DB" --as-of "$START" --rounds-scale "$SCALE" --folds "$FOLDS" \
    --no-compare
step "replay $FROM .. $TO on the schedule (simulated clock)"
"$BIN" replay --db "$DB" --from "$FROM" --to "$TO" --config "$DIR/schedule.conf" \
    --rounds-scale "$SCALE" --folds "$FOLDS" --no-compare >"$DIR/replay.log"
tail -n 3 "$DIR/replay.log"
sqlite3 -column "$DB" "SELECT job, status, count(*) AS runs,
    round(sum(ended_us - started_us) / 1e6, 1) AS seconds FROM job_runs
    GROUP BY job, status ORDER BY job, status" 2>/dev/null || true
step "evaluation of $FROM .. $TO: system vs baselines"
"$BIN" evaluate --db "$DB" --from "$FROM" --to "$TO" \
    --html "$DIR/evaluation.html" --json "$DIR/evaluation.json"
echo
echo "walkforward: done in $(( $(date +%s) - start )) s; database $DB"
