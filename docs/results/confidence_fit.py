"""Fit the confidence's logistic coefficients on the development half of an `align eval` run, pick
the everyday low-confidence threshold there, and show both halves with the fitted coefficients.

Usage (from the repository root): python docs/results/confidence_fit.py runs/everyday-confidence
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from alignment.confidence import FEATURES, ConfidenceFeatures, confidence_of, fit_logistic
from alignment.evaluation import COVERAGE
from alignment.metrics import selective_ci
from assistant.evaluation.runner import file_halves


def main(run: Path, algorithm: str = "aligned") -> None:
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines() if line.strip()]
    rows = [
        r for r in rows if r["algorithm"] == algorithm and r.get("confidence_features") and r["error"] is None
    ]
    summary = json.loads((run / "summary.json").read_text())
    halves = file_halves([Path(p) for p in summary["files"]])
    dev = [r for r in rows if halves.get(r["source"]) == "dev"]
    x = [[r["confidence_features"][f] for f in FEATURES] for r in dev]
    y = [bool(r["correct"]) for r in dev]
    coefficients = fit_logistic(x, y, ridge=1.0)
    print("dev files:", sorted(s for s, h in halves.items() if h == "dev"), "n =", len(dev))
    print("coefficients (intercept, " + ", ".join(FEATURES) + "):", [round(c, 3) for c in coefficients])
    conf_dev = sorted(
        confidence_of(ConfidenceFeatures(**r["confidence_features"]), coefficients) for r in dev
    )
    threshold = conf_dev[round((1 - COVERAGE) * len(conf_dev))]
    print(f"threshold (dev: the {1 - COVERAGE:.0%} least confident fall below it): {threshold:.3f}")
    for half in ("dev", "test"):
        sel = [r for r in rows if halves.get(r["source"]) == half]
        conf = [confidence_of(ConfidenceFeatures(**r["confidence_features"]), coefficients) for r in sel]
        iv = selective_ci(conf, [bool(r["correct"]) for r in sel], COVERAGE)
        print(
            f"{half}: selective accuracy at {COVERAGE:.0%}: "
            f"{iv.mean:.2f} [{iv.low:.2f}, {iv.high:.2f}] (n={iv.n})"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
