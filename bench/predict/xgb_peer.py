#!/usr/bin/python3
"""Peer side of bench/predict: trains (once, cached) the XGBoost model of
the benchmark and times XGBoost's own inplace_predict at 1 and 2 threads
(best of 3), writing its predictions."""
import os
import sys
import time

import numpy as np
import xgboost as xgb

out = sys.argv[1]
base = os.path.join(out, "base.csv")
model_path = os.path.join(out, "xgb_softprob.json")

data = np.genfromtxt(base, delimiter=",", skip_header=1, missing_values="",
                     filling_values=np.nan)
y = data[:, 2].astype(int)
X = np.ascontiguousarray(data[:, 3:], dtype=np.float32)

if not os.path.exists(model_path):
    t = time.time()
    dtrain = xgb.DMatrix(X, label=y, missing=np.nan)
    params = {"objective": "multi:softprob", "num_class": 3, "max_depth": 6,
              "eta": 0.1, "tree_method": "hist", "nthread": 2, "seed": 1}
    booster = xgb.train(params, dtrain, num_boost_round=300)
    booster.save_model(model_path)
    print(f"trained peer model in {time.time() - t:.1f} s", file=sys.stderr)

booster = xgb.Booster(model_file=model_path)
pred = None
for threads in (1, 2):
    booster.set_param({"nthread": threads})
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        pred = booster.inplace_predict(X)
        best = min(best, time.perf_counter() - t)
    print(f"xgboost threads={threads} rows_per_s={X.shape[0] / best:.0f} "
          f"seconds={best:.4f} version={xgb.__version__}")
np.savetxt(os.path.join(out, "xgb_pred.csv"), pred, delimiter=",", fmt="%.9g",
           header="p0,p1,p2", comments="")
