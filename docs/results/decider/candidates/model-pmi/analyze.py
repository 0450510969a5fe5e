# ruff: noqa: SIM115  (a one-off research probe, kept as it was run)
import json
import sys

import numpy as np


def acc(items, key=lambda it: np.array(it["hi"]) - np.array(it["lo"])):
    ok = []
    for it in items:
        s = np.array([x if x is not None else np.nan for x in it["scores"]], float)
        if np.isnan(s).any():
            continue
        c = key(it)
        for target in (1.0, 0.0):
            d = np.abs(s - target)
            pick = int(np.argmax(c)) if target == 1.0 else int(np.argmin(c))
            ok.append(d[pick] <= d.min() + 1e-9)
    return np.mean(ok), len(ok)


for f in sys.argv[1:]:
    items = json.load(open(f))
    print(f, "contrast", acc(items), "hi only", acc(items, lambda it: np.array(it["hi"])), "by attr:")
    attrs = sorted({it["attr"] for it in items})
    print("  ", {a: round(acc([it for it in items if it["attr"] == a])[0], 2) for a in attrs})
