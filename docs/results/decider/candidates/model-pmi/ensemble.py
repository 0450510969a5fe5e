# ruff: noqa: SIM115  (a one-off research probe, kept as it was run)
"""Ensemble: value-fit estimates (from eval results, direction high rows) + PMI contrast."""

import json
import sys

import numpy as np

res_file, pmi_file = sys.argv[1], sys.argv[2]
vf = {}
for line in open(res_file):
    r = json.loads(line)
    if r["algorithm"] != "aligned" or r["direction"] != "high":
        continue
    key = r["item_id"].rsplit(":", 1)[0]  # source:scenario:attr
    vf[key] = np.array(r["scores"], float)
items = json.load(open(pmi_file))
src = pmi_file  # items have id = scenario_id


def acc(w, scale="z"):
    ok = []
    for it in items:
        keys = [k for k in vf if k.endswith(":" + it["id"] + ":" + it["attr"])]
        if not keys:
            continue
        e = vf[keys[0]]
        c = np.array(it["hi"]) - np.array(it["lo"])
        if scale == "z":
            c = (c - c.mean()) / (c.std() + 1e-9) if len(c) > 1 else c * 0
        else:
            c = 1 / (1 + np.exp(-(c - c.mean()) / scale))
        comb = (1 - w) * e + w * c
        s = np.array(it["scores"], float)
        for target in (1.0, 0.0):
            d = np.abs(s - target)
            pick = int(np.argmax(comb)) if target == 1.0 else int(np.argmin(comb))
            ok.append(d[pick] <= d.min() + 1e-9)
    return round(float(np.mean(ok)), 3), len(ok)


for w in (0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0):
    print(w, acc(w), acc(w, 2.0))
