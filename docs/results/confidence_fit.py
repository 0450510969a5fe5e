"""Fit the confidence's logistic coefficients on the development halves of `align eval` runs, pick
the everyday low-confidence threshold on the everyday development half, and show every half with the
fitted coefficients (the test halves are only reported, never fitted on).

Usage (from the repository root):
    python docs/results/confidence_fit.py runs/everyday-confidence runs/triage-dev
The first run is the everyday one (its development half picks the threshold).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from alignment.confidence import TERMS, ConfidenceFeatures, confidence_of, fit_logistic, terms_of
from alignment.evaluation import COVERAGE
from alignment.metrics import bootstrap_ci, selective_ci
from assistant.evaluation.runner import file_halves

RIDGE = 1.0


def _rows(run: Path, algorithm: str = "aligned") -> list[dict[str, Any]]:
    summary = json.loads((run / "summary.json").read_text())
    halves = file_halves(_files(summary))
    out = []
    for line in (run / "results.jsonl").read_text().splitlines():
        r = json.loads(line) if line.strip() else None
        if r and r["algorithm"] == algorithm and r.get("confidence_features") and r["error"] is None:
            r["half"] = halves.get(r["source"], "?")
            out.append(r)
    return out


def _files(summary: dict[str, Any]) -> list[Path]:
    files = [Path(p) for p in summary["files"]]
    # a run of one half lists only that half's files: the folder says where each one stands
    return sorted({p for f in files for p in f.parent.glob("*.json")})


def _features(r: dict[str, Any]) -> ConfidenceFeatures:
    return ConfidenceFeatures(**r["confidence_features"])


def main(runs: list[Path]) -> None:
    per_run = {run.name: _rows(run) for run in runs}
    dev = [r for rows in per_run.values() for r in rows if r["half"] == "dev"]
    coefficients = fit_logistic(
        [terms_of(_features(r)) for r in dev], [bool(r["correct"]) for r in dev], ridge=RIDGE
    )
    print(f"fitted on the dev halves of {', '.join(per_run)}: n = {len(dev)}")
    print("coefficients (intercept, " + ", ".join(TERMS) + "):", [round(c, 3) for c in coefficients])
    everyday_dev = [r for r in per_run[runs[0].name] if r["half"] == "dev"]
    conf = sorted(confidence_of(_features(r), coefficients) for r in everyday_dev)
    threshold = conf[round((1 - COVERAGE) * len(conf))]
    print(f"everyday threshold (dev: the {1 - COVERAGE:.0%} least confident fall below it): {threshold:.3f}")
    for name, rows in per_run.items():
        for half in ("dev", "test"):
            sel = [r for r in rows if r["half"] == half]
            if not sel:
                continue
            c = [confidence_of(_features(r), coefficients) for r in sel]
            right = [bool(r["correct"]) for r in sel]
            iv = selective_ci(c, right, COVERAGE)
            acc = bootstrap_ci([float(x) for x in right])
            low = [x for x, k in zip(right, c, strict=True) if k < threshold]
            print(
                f"{name} {half}: accuracy {acc.mean:.2f} [{acc.low:.2f}, {acc.high:.2f}] (n={acc.n}); "
                f"at {COVERAGE:.0%} coverage {iv.mean:.2f} [{iv.low:.2f}, {iv.high:.2f}] (n={iv.n}); "
                f"mean confidence {sum(c) / len(c):.2f}; below the threshold {len(low)}"
                + (f", right {sum(low) / len(low):.2f}" if low else "")
            )


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])
