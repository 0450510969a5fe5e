"""How likely a decision is to be the one the person's values ask for (pure).

A decision's ``confidence`` in [0, 1] is a logistic function of three features, each in [0, 1]:

- **gap**: how far apart the best two options stand. For value-fit (distances to the target) it is
  the runner-up's distance minus the winner's, per value of the target, capped at 1; for other
  algorithms, the difference of the best two per-option scores (a vote share, a fit), capped at 1;
  0 where no score says.
- **agreement**: of value-fit's independent readers of the options (the kernel regression over
  stored decisions, the contrast with the values' definitions, a learned direction, other groups'
  answers; the language model's ratings where the reader record chose them for a value), the share
  that on their own pick the decision's option, each reader read with the final estimates of the
  values it does not read. With fewer than two readers nothing can disagree: 0.5 (unknown).
- **evidence**: how much the estimates rest on stored decisions rather than on definitions alone:
  the mean weight of the stored examples in value-fit's estimates; a value read by the model's
  ratings counts with the share of its recorded decisions that reader got right, scaled down
  below ``RECORD_FULL`` decisions.

``confidence = 1 / (1 + exp(-(b0 + b1 * agreement + b2 * gap * evidence + b3 * gap * (1 - evidence)
+ b4 * evidence)))``: a gap read from stored decisions and one read from the values' definitions alone
count apart (on the development halves a wide gap from definitions alone was no surer than a narrow
one, while a wide gap that stored decisions support was).

The coefficients (``COEFFICIENTS``) were fitted by maximum likelihood (``fit_logistic``) on the
development half of the everyday sets only (``docs/results/confidence.md`` says which run, and
reports the test half). ``THRESHOLDS`` holds, per domain it was measured on, the confidence below
which a decision is low: the chat asks a calibrating question there. A domain with no measured
threshold has no calibrated meaning of "low" (``threshold_for`` gives None).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from alignment.models import Decision

__all__ = [
    "COEFFICIENTS",
    "FEATURES",
    "RECORD_FULL",
    "TERMS",
    "THRESHOLDS",
    "ConfidenceFeatures",
    "confidence_of",
    "deciding_value",
    "features_of",
    "fit_logistic",
    "logistic",
    "terms_of",
    "threshold_for",
    "with_confidence",
]

FEATURES = ("gap", "agreement", "evidence")
TERMS = ("agreement", "supported_gap", "unsupported_gap", "evidence")  # the logistic's inputs
# (intercept, then one per TERMS): fitted (ridge 1.0 on the slopes) on the development halves of the
# default decider's `align eval` runs, 182 decisions: everyday (datasets/everyday's 1st file by name,
# the 10 values in no pack: everyday_novel_input_output.json, n=100) and triage (adept, fairness,
# protocol_focus, soartech, n=82); docs/results/confidence.md, docs/results/confidence_fit.py
COEFFICIENTS: tuple[float, ...] = (-0.054, 1.415, 1.195, -0.178, 0.649)
# per domain, the confidence under which a decision is low: on the everyday development half above,
# the 40% least confident decisions fall below it
THRESHOLDS: dict[str, float] = {"everyday": 0.655}
RECORD_FULL = 16  # recorded decisions behind a model-read value for its evidence to count in full
_READERS = ("examples", "definition", "direction")


class ConfidenceFeatures(BaseModel):
    """The features a decision's confidence is computed from (each in [0, 1])."""

    model_config = ConfigDict(frozen=True)

    gap: float
    agreement: float
    evidence: float
    readers: int = 0  # how many independent readers the agreement is over


def logistic(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _clip01(x: float) -> float:
    return 0.0 if not math.isfinite(x) else min(1.0, max(0.0, x))


def _winner(distances: Sequence[float]) -> int:
    return min(range(len(distances)), key=lambda i: (distances[i], i))


def _gap(decision: Decision) -> float:
    target = decision.target
    distances = decision.extra.get("distances")
    if isinstance(distances, list) and len(distances) >= 2 and target:
        ordered = sorted(float(d) for d in distances)
        return _clip01((ordered[1] - ordered[0]) / len(target))
    scores = [s.score for s in decision.scores]
    if len(scores) >= 2 and all(s is not None and math.isfinite(s) for s in scores):
        ordered = sorted((float(s) for s in scores if s is not None), reverse=True)
        return _clip01(ordered[0] - ordered[1])
    return 0.0


def _reader_estimates(decision: Decision) -> dict[str, dict[str, list[float]]]:
    """Per reader, value -> its estimates of the options (only what that reader read)."""
    evidence = decision.extra.get("evidence")
    out: dict[str, dict[str, list[float]]] = {}
    if isinstance(evidence, Mapping):
        for value, ev in evidence.items():
            if not isinstance(ev, Mapping):
                continue
            for reader in _READERS:
                est = ev.get(reader)
                if isinstance(est, list) and len(est) == len(decision.scores):
                    name = "groups" if reader == "examples" and ev.get("source") == "groups" else reader
                    out.setdefault(name, {})[value] = [float(x) for x in est]
    for value, reader in (decision.extra.get("readers") or {}).items():  # the model's ratings
        if value in decision.target:
            out.setdefault(str(reader), {})[value] = [
                float(s.attributes.get(value, 0.5)) for s in decision.scores
            ]
    return out


def _agreement(decision: Decision) -> tuple[float, int]:
    target = decision.target
    readers = _reader_estimates(decision)
    if not target or len(readers) < 2:
        return 0.5, len(readers)
    agree = 0
    for estimates in readers.values():
        distances = [
            sum(
                abs((estimates[a][i] if a in estimates else s.attributes.get(a, 0.5)) - t)
                for a, t in target.items()
            )
            for i, s in enumerate(decision.scores)
        ]
        agree += _winner(distances) == decision.choice_index
    return agree / len(readers), len(readers)


def _evidence(decision: Decision) -> float:
    evidence = decision.extra.get("evidence")
    record: Mapping[str, Any] = decision.extra.get("reader_record") or {}
    per_value: list[float] = []
    for value in decision.target:
        tally = record.get(value)
        if isinstance(tally, Mapping) and tally.get("decisions"):
            n = float(tally["decisions"])
            right = float((tally.get("right") or {}).get("regression", 0))
            per_value.append(right / n * min(1.0, n / RECORD_FULL))
            continue
        ev = evidence.get(value) if isinstance(evidence, Mapping) else None
        weights = ev.get("example_weight") if isinstance(ev, Mapping) else None
        per_value.append(sum(weights) / len(weights) if weights else 0.0)
    return _clip01(sum(per_value) / len(per_value)) if per_value else 0.0


def features_of(decision: Decision) -> ConfidenceFeatures:
    agreement, readers = _agreement(decision)
    return ConfidenceFeatures(
        gap=_gap(decision), agreement=agreement, evidence=_evidence(decision), readers=readers
    )


def terms_of(features: ConfidenceFeatures) -> list[float]:
    """The logistic's inputs (``TERMS``) from a decision's features."""
    f = features
    return [f.agreement, f.gap * f.evidence, f.gap * (1.0 - f.evidence), f.evidence]


def confidence_of(features: ConfidenceFeatures, coefficients: Sequence[float] = COEFFICIENTS) -> float:
    """The logistic of the features' terms: (intercept, one coefficient per term of ``TERMS``)."""
    b0, *slopes = coefficients
    return logistic(b0 + sum(b * t for b, t in zip(slopes, terms_of(features), strict=True)))


def with_confidence(decision: Decision) -> Decision:
    """The decision with its ``confidence`` and, in ``extra``, the features it came from."""
    features = features_of(decision)
    return decision.model_copy(
        update={
            "confidence": round(confidence_of(features), 4),
            "extra": {**decision.extra, "confidence_features": features.model_dump()},
        }
    )


def threshold_for(domain: str | None) -> float | None:
    """The low-confidence threshold measured on ``domain``; None where none was measured."""
    return THRESHOLDS.get((domain or "").strip())


def deciding_value(decision: Decision) -> str | None:
    """The value of the target that does most to put the winner ahead of the runner-up (the one a
    person's answer would most move the decision by); None without estimates."""
    target = decision.target
    others = [s for s in decision.scores if s.index != decision.choice_index]
    if not target or not others:
        return None
    winner = decision.scores[decision.choice_index].attributes
    fits = [s.score if s.score is not None else -math.inf for s in others]
    runner = others[max(range(len(others)), key=lambda i: fits[i])].attributes
    pulls = {
        a: abs(runner[a] - t) - abs(winner[a] - t) for a, t in target.items() if a in winner and a in runner
    }
    if not pulls:
        return None
    # the value that most separates the two options, whichever way it pulls
    return max(pulls, key=lambda a: (abs(winner[a] - runner[a]), a))


def fit_logistic(
    rows: Sequence[Sequence[float]], outcomes: Sequence[bool], *, ridge: float = 1e-2, steps: int = 50
) -> list[float]:
    """Maximum-likelihood logistic regression (Newton's method with a small ridge on the slopes):
    ``rows`` of features (in ``FEATURES`` order), ``outcomes`` right or wrong. Returns
    (intercept, slopes...)."""
    if len(rows) != len(outcomes) or not rows:
        raise ValueError("give one outcome per row of features, and at least one row")
    x = np.hstack([np.ones((len(rows), 1)), np.asarray(rows, dtype=float)])
    y = np.asarray(outcomes, dtype=float)
    beta = np.zeros(x.shape[1])
    penalty = np.eye(x.shape[1]) * ridge
    penalty[0, 0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (y - p) - penalty @ beta
        hess = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(beta)), grad)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return [float(b) for b in beta]
