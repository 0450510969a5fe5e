"""A learned reader of values with no examples: a logistic regression over six zero-shot features.

Run from the repository root: ``.venv/bin/python docs/results/decider/ceilings/learned_reader.py``.
Features per option (centred within its record): cosine to the value's high text, low text,
description and label, and the mean cosine to the phrases of the high and the low text. Trained on
option pairs of *other* values (pairwise, no intercept) and tested on values it never saw: the
everyday packs -> the novel everyday values; each pack value left out in turn; each NAACL triage
value left out in turn. C is the inverse regularisation strength.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zero_shot_probes import DEFS, SETS, Item, accuracy, emb, phrases

FEATURES = ["high", "low", "description", "label", "high phrases", "low phrases"]


def features(item: Item) -> np.ndarray:
    d = DEFS[item["attr"]]
    o = emb(item["choices"])
    columns = [
        o @ emb([d["high"]])[0],
        o @ emb([d["low"]])[0],
        o @ emb([d["description"]])[0],
        o @ emb([d["label"]])[0],
        (o @ emb(phrases(d["high"])).T).mean(1),
        (o @ emb(phrases(d["low"])).T).mean(1),
    ]
    matrix = np.array(columns).T
    return matrix - matrix.mean(0)


def fit(items: list[Item], c: float) -> np.ndarray:
    x, y = [], []
    for item in items:
        f = features(item)
        values = item["values"]
        scored = [i for i, v in enumerate(values) if v is not None]
        for i in scored:
            for j in scored:
                if values[i] > values[j]:
                    x += [f[i] - f[j], f[j] - f[i]]
                    y += [1, 0]
    return LogisticRegression(C=c, fit_intercept=False).fit(np.array(x), np.array(y)).coef_[0]


def leave_one_value_out(items: list[Item], c: float) -> float:
    by_value: dict[str, list[Item]] = {}
    for item in items:
        by_value.setdefault(item["attr"], []).append(item)
    total = 0.0
    for value, own in by_value.items():
        w = fit([x for x in items if x["attr"] != value], c)
        total += accuracy(own, lambda it, w=w: features(it) @ w) * len(own)
    return total / len(items)


def main() -> None:
    print(
        "| C | novel values, trained on the packs | packs, each value left out "
        "| NAACL triage, each value left out | weights (trained on the packs) |"
    )
    print("| --- | --- | --- | --- | --- |")
    for c in (0.01, 0.1, 1.0, 10.0):
        w = fit(SETS["everyday_packs"], c)
        novel = accuracy(SETS["everyday_novel"], lambda it, w=w: features(it) @ w)
        packs = leave_one_value_out(SETS["everyday_packs"], c)
        naacl = leave_one_value_out(SETS["naacl"], c)
        weights = ", ".join(f"{n} {x:.2f}" for n, x in zip(FEATURES, w, strict=True))
        print(f"| {c} | {novel:.2f} | {packs:.2f} | {naacl:.2f} | {weights} |")


if __name__ == "__main__":
    main()
