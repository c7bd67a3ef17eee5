"""Trains one tiny model per objective the installed XGBoost can train
(gbtree and dart), saves it as JSON and UBJSON, and writes what XGBoost
itself predicts for a fixed input, for tests/forest/test_xgboost_peer.c.

usage: xgb_peer.py OUTDIR
Writes OUTDIR/cases.txt (one case name per line) and, per case,
OUTDIR/NAME.json, NAME.ubj, NAME.in.csv, NAME.margin.csv, NAME.pred.csv.
Exit 77 when xgboost or numpy is missing.
"""
import os
import sys

try:
    import numpy as np
    import xgboost as xgb
except Exception as e:  # the test prints a SKIP line
    print("python3-xgboost unavailable: %s" % e)
    sys.exit(77)

out = sys.argv[1]
rng = np.random.RandomState(7)
N, F = 240, 4
X = rng.normal(size=(N, F)).astype(np.float32)
X[rng.rand(N, F) < 0.08] = np.nan  # missing values take the default branch
s = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) - np.nan_to_num(X[:, 2]) ** 2
pos = np.exp(0.3 * s)  # positive targets for log-link objectives
binary = (s > 0).astype(np.float32)
groups = [24] * (N // 24)  # ranking: 10 queries of 24 rows

major, minor = (int(p) for p in xgb.__version__.split(".")[:2])


def labels(objective):
    """The DMatrix arguments that objective needs."""
    if objective in ("binary:logistic", "binary:logitraw", "binary:hinge", "reg:logistic"):
        return {"label": binary}
    if objective.startswith("multi:"):
        return {"label": np.digitize(s, [-1.0, 0.5]).astype(np.float32)}
    if objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        return {"label": pos}
    if objective == "survival:cox":  # negative: censored
        return {"label": np.where(rng.rand(N) < 0.2, -pos, pos)}
    if objective == "survival:aft":
        upper = np.where(rng.rand(N) < 0.3, np.inf, pos)
        return {"label_lower_bound": pos, "label_upper_bound": upper}
    if objective.startswith("rank:"):
        return {"label": np.digitize(s, [-1.0, 0.0, 1.0]).astype(np.float32)}
    if objective == "reg:squaredlogerror":
        return {"label": pos}
    return {"label": s}


objectives = [
    "reg:squarederror", "reg:squaredlogerror", "reg:logistic", "reg:pseudohubererror",
    "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson", "reg:gamma",
    "reg:tweedie", "survival:cox", "survival:aft", "multi:softprob", "multi:softmax",
    "rank:pairwise", "rank:ndcg", "rank:map",
]
if (major, minor) >= (1, 7):
    objectives.append("reg:absoluteerror")
if major >= 2:
    objectives += ["reg:quantileerror"]

cases = []


def save(name, booster, dm):
    booster.save_model(os.path.join(out, name + ".json"))
    booster.save_model(os.path.join(out, name + ".ubj"))
    m = booster.predict(dm, output_margin=True).reshape(N, -1)
    p = booster.predict(dm).reshape(N, -1)
    np.savetxt(os.path.join(out, name + ".margin.csv"), m, fmt="%.9g", delimiter=",")
    np.savetxt(os.path.join(out, name + ".pred.csv"), p, fmt="%.9g", delimiter=",")
    cases.append(name)


for booster in ("gbtree", "dart"):
    for obj in objectives:
        params = {"objective": obj, "max_depth": 3, "eta": 0.3, "tree_method": "hist",
                  "seed": 1, "base_score": 0.5 if obj != "reg:gamma" else 1.5}
        if obj.startswith("multi:"):
            params["num_class"] = 3
        if obj in ("reg:absoluteerror", "reg:quantileerror"):
            params.pop("base_score")
        if booster == "dart":
            params.update(booster="dart", rate_drop=0.3, skip_drop=0.0, one_drop=1)
        dm = xgb.DMatrix(X, missing=np.nan, **labels(obj))
        if obj.startswith("rank:"):
            dm.set_group(groups)
        b = xgb.train(params, dm, num_boost_round=6)
        save("%s_%s" % (booster, obj.replace(":", "_")), b, xgb.DMatrix(X, missing=np.nan))

# several targets: one output (and one sigmoid) per target
for obj, y in (("reg:squarederror", np.stack([s, -s], axis=1)),
               ("binary:logistic", np.stack([binary, 1 - binary], axis=1))):
    dm = xgb.DMatrix(X, label=y, missing=np.nan)
    b = xgb.train({"objective": obj, "max_depth": 3, "tree_method": "hist", "base_score": 0.5},
                  dm, num_boost_round=4)
    save("multitarget_%s" % obj.replace(":", "_"), b, xgb.DMatrix(X, missing=np.nan))

with open(os.path.join(out, "X.csv"), "w") as fp:
    fp.write(",".join("f%d" % j for j in range(F)) + "\n")
    for row in X:
        fp.write(",".join("" if np.isnan(v) else "%.9g" % v for v in row) + "\n")
with open(os.path.join(out, "cases.txt"), "w") as fp:
    fp.write("xgboost %s\n" % xgb.__version__)
    for c in cases:
        fp.write(c + "\n")
print("xgb_peer: xgboost %s, %d models" % (xgb.__version__, len(cases)))
