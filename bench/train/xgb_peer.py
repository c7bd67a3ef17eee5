#!/usr/bin/env python3
"""XGBoost `hist` on the TurboMode training workload, for bench/train/run.sh.

Same split and weights as `turbomode train --valid-fraction F --split time
--time-column date_index --class-weight balanced`: the rows whose date_index
is at or after the date of the (n - round(F n))-th row in time order are
validation; class weights n / (K n_k) from the training labels, applied to
training and validation rows. Prints one line of key=value figures.

  xgb_peer.py WORKLOAD.csv CACHE.npy THREADS MAX_ROUNDS [MAX_LEAVES [PATIENCE]]
PATIENCE 0 trains every round (no early stopping).
"""
import math
import os
import sys
import time

import numpy as np
import xgboost as xgb


def load(csv_path, cache):
    """The workload as a float64 array (empty field = NaN), cached as .npy."""
    if os.path.exists(cache) and os.path.getmtime(cache) >= os.path.getmtime(csv_path):
        return np.load(cache)
    with open(csv_path) as f:
        header = f.readline()
        text = f.read()
    for _ in range(2):  # ",," twice covers runs of empty fields
        text = text.replace(",,", ",nan,")
    text = text.replace(",\n", ",nan\n")
    ncol = header.count(",") + 1
    data = np.array(text.split(), dtype=object)
    arr = np.array([v for line in data for v in line.split(",")], dtype=np.float64)
    arr = arr.reshape(-1, ncol)
    tmp = cache + ".tmp.npy"
    np.save(tmp, arr)
    os.replace(tmp, cache)
    return arr


def main():
    csv_path, cache, threads, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    leaves = int(sys.argv[5]) if len(sys.argv) > 5 else 31
    patience = int(sys.argv[6]) if len(sys.argv) > 6 else 50
    a = load(csv_path, cache)
    date, y, X = a[:, 0], a[:, 2].astype(np.int64), a[:, 3:]
    n = len(y)
    k_valid = int(round(n * 0.2))
    cut = np.sort(date, kind="stable")[n - k_valid]
    va = date >= cut
    tr = ~va
    K = 3
    counts = np.bincount(y[tr], minlength=K)
    cw = tr.sum() / (K * counts)
    t0 = time.time()
    dtr = xgb.DMatrix(X[tr], label=y[tr], weight=cw[y[tr]], missing=np.nan, nthread=threads)
    dva = xgb.DMatrix(X[va], label=y[va], weight=cw[y[va]], missing=np.nan, nthread=threads)
    params = {"objective": "multi:softprob", "num_class": K, "tree_method": "hist",
              "grow_policy": "lossguide", "max_leaves": leaves, "max_depth": 0,
              "max_bin": 255, "eta": 0.05, "eval_metric": "mlogloss", "nthread": threads,
              "seed": 1}
    bst = xgb.train(params, dtr, rounds, evals=[(dva, "valid")],
                    early_stopping_rounds=patience if patience > 0 else None,
                    verbose_eval=False)
    secs = time.time() - t0
    best = bst.best_iteration if patience > 0 else bst.num_boosted_rounds() - 1
    p = bst.predict(dva, iteration_range=(0, best + 1))
    yv, wv = y[va], cw[y[va]]
    ll = -np.log(np.clip(p[np.arange(len(yv)), yv], 1e-15, 1))
    done = bst.num_boosted_rounds()
    print("peer=xgboost-%s seconds=%.2f rounds=%d best_iteration=%d valid_multi_logloss=%.6f "
          "valid_multi_logloss_unweighted=%.6f valid_accuracy=%.4f"
          % (xgb.__version__, secs, done, best, float((ll * wv).sum() / wv.sum()),
             float(ll.mean()), float((p.argmax(1) == yv).mean())))


if __name__ == "__main__":
    main()
