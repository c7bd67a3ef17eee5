#!/usr/bin/python3
"""Optional peers of bench/predict for the LightGBM model: LightGBM's own
Booster.predict and lleaves (LLVM-compiled trees), each timed at 1 and 2
threads (best of 3). Neither is a Debian package: each runs only when its
directory is given (LIGHTGBM_PYTHONPATH, LLEAVES_PYTHONPATH; lleaves needs
python3-llvmlite). lleaves compiles the model once into
OUT/lleaves_cache.so (minutes for thousands of trees), then reuses it.
Usage: lgb_peer.py OUT MODEL.txt BASE.csv"""
import os
import sys
import time

out, model_path, base = sys.argv[1:4]
lgb_path = os.environ.get("LIGHTGBM_PYTHONPATH")
lleaves_path = os.environ.get("LLEAVES_PYTHONPATH")
if not lgb_path and not lleaves_path:
    sys.exit(0)
for p in (lleaves_path, lgb_path):
    if p:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402

X = np.genfromtxt(base, delimiter=",", skip_header=1, missing_values="",
                  filling_values=np.nan)[:, 3:]
X = np.ascontiguousarray(X, dtype=np.float64)


def timed(name, version, predict):
    pred = None
    for threads in (1, 2):
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            pred = predict(threads)
            best = min(best, time.perf_counter() - t)
        print(f"{name} threads={threads} rows_per_s={X.shape[0] / best:.0f} "
              f"seconds={best:.4f} version={version}", flush=True)
    return pred


if lgb_path:
    import lightgbm as lgb
    booster = lgb.Booster(model_file=model_path)
    pred = timed("lightgbm", lgb.__version__,
                 lambda n: booster.predict(X, num_threads=n))
    np.savetxt(os.path.join(out, "lgb_pred.csv"), pred.reshape(X.shape[0], -1),
               delimiter=",", fmt="%.17g",
               header=",".join(f"p{k}" for k in range(pred.reshape(X.shape[0], -1).shape[1])),
               comments="")
if lleaves_path:
    import lleaves
    model = lleaves.Model(model_file=model_path)
    t = time.time()
    model.compile(cache=os.path.join(out, "lleaves_cache.so"))
    print(f"lleaves compile (or cache load): {time.time() - t:.1f} s", file=sys.stderr)
    timed("lleaves", getattr(lleaves, "__version__", "?"),
          lambda n: model.predict(X, n_jobs=n))
