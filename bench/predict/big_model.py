#!/usr/bin/python3
"""Writes a large XGBoost model JSON for the load benchmark: the trees of
MODEL.json repeated K times (tree ids, tree_info, num_trees and the
iteration index updated), so it is a valid model K times the size.
Usage: big_model.py MODEL.json K OUT.json"""
import json
import os
import sys

src, k, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(src) as fp:
    model = json.load(fp)
gb = model["learner"]["gradient_booster"]["model"]
trees, info = gb["trees"], gb["tree_info"]
per_iter = len(trees) // (len(gb["iteration_indptr"]) - 1) if "iteration_indptr" in gb else 1
out = []
for _ in range(k):
    for t in trees:
        t = dict(t)
        t["id"] = len(out)
        out.append(t)
gb["trees"] = out
gb["tree_info"] = info * k
gb["gbtree_model_param"]["num_trees"] = str(len(out))
if "iteration_indptr" in gb:
    gb["iteration_indptr"] = [i * per_iter for i in range(len(out) // per_iter + 1)]
with open(dst + ".tmp", "w") as fp:
    json.dump(model, fp, separators=(",", ":"))
os.replace(dst + ".tmp", dst)
