"""``align eval-calibration``: how well calibration recovers known targets of simulated users.

Each simulated user has a known target (every calibrated attribute high, in [0.7, 1], or low, in
[0, 0.3]: all high, all low, one high and the rest low, one low and the rest high, then random
mixtures). They answer triage dilemmas through the same softmax choice model the estimator assumes,
with the dataset's own attribute scores and a noise level (the user's beta, unknown to the
estimator). After 5, 10 and 20 answers we compare the estimate with the truth: mean absolute error,
and the share of attributes whose direction (high / low) is right (undecided counts as wrong).
Active selection and random selection run on the same users, pool and answer noise model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from alignment.calibration import (
    CalibrationModel,
    Dilemma,
    DilemmaPool,
    Posterior,
    calibration_dilemmas,
    choice_probabilities,
    usable_attributes,
)
from alignment.datasets import EVERYDAY_EXAMPLE_FILES, DatasetRecord, dataset_files, load_file
from alignment.errors import InputError
from alignment.metrics import bootstrap_ci, choice_distances

__all__ = [
    "NOISE_LEVELS",
    "CalibrationEvalConfig",
    "default_everyday_paths",
    "default_triage_paths",
    "load_domain_records",
    "load_triage_records",
    "noise_beta",
    "results_markdown",
    "run_calibration_eval",
    "simulated_targets",
]

# The simulated user's beta (consistency). Wrong-answer rates on clear dilemmas are measured and
# reported with every run (``wrong_answer_rate``).
NOISE_LEVELS: dict[str, float] = {"none": math.inf, "low": 8.0, "medium": 4.0, "high": 2.0}
HIGH_RANGE = (0.7, 1.0)
LOW_RANGE = (0.0, 0.3)
STRATEGIES: tuple[Literal["active", "random"], ...] = ("active", "random")


def noise_beta(noise: str) -> float:
    """A named noise level (none, low, medium, high) or a beta given as a number."""
    key = noise.strip().lower()
    if key in NOISE_LEVELS:
        return NOISE_LEVELS[key]
    try:
        beta = float(key)
    except ValueError:
        raise InputError(
            f"--noise {noise!r}: use one of {', '.join(NOISE_LEVELS)} or a positive number (the beta)"
        ) from None
    if not beta > 0:
        raise InputError(f"--noise {noise!r}: a beta must be a positive number")
    return beta


def default_triage_paths() -> list[Path]:
    """The vendored triage files (``datasets/triage`` of the repository, or of the working directory)."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        folder = base / "datasets" / "triage"
        found = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if found:
            return found
    raise InputError("no triage data found (datasets/triage); pass --data PATH")


def default_everyday_paths() -> list[Path]:
    """The vendored everyday value-pack examples (``datasets/everyday``; not the sets that measure
    values read without examples)."""
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        found = [base / "datasets" / "everyday" / name for name in EVERYDAY_EXAMPLE_FILES]
        if all(p.is_file() for p in found):
            return found
    raise InputError("no everyday data found (datasets/everyday); pass --data PATH")


def load_domain_records(paths: Sequence[str | Path] | None, domain: str) -> list[DatasetRecord]:
    """Records of ``domain`` ("triage" or "everyday") in the files (default: the vendored ones)."""
    if domain == "triage":
        return load_triage_records(paths)
    files = dataset_files(list(paths or default_everyday_paths()))
    records = [r for f in files for r in load_file(f) if r.domain == domain]
    if not records:
        raise InputError(f"the data holds no {domain} records; pass {domain} files with --data")
    return records


def load_triage_records(paths: Sequence[str | Path] | None = None) -> list[DatasetRecord]:
    """Triage-domain records of the files (directories are searched for *.json)."""
    files = dataset_files(list(paths or default_triage_paths()))
    records = [r for f in files for r in load_file(f) if r.domain == "triage"]
    if not records:
        raise InputError("the data holds no triage records; pass triage files with --data")
    return records


class CalibrationEvalConfig(BaseModel):
    answers: list[int] = Field(default_factory=lambda: [5, 10, 20])
    noise: str = "low"
    users: int = Field(default=64, ge=1, le=10_000)
    seed: int = 0
    attributes: list[str] | None = None  # default: every attribute the pool can calibrate
    model: CalibrationModel = Field(default_factory=CalibrationModel)


def simulated_targets(attributes: Sequence[str], n: int, rng: np.random.Generator) -> list[dict[str, float]]:
    """``n`` known targets: all high, all low, each attribute alone high / alone low, then mixtures."""
    k = len(attributes)
    patterns: list[list[bool]] = [[True] * k, [False] * k]
    for j in range(k):
        patterns.append([i == j for i in range(k)])
        patterns.append([i != j for i in range(k)])
    out = []
    for u in range(n):
        pattern = patterns[u] if u < len(patterns) else [bool(x) for x in rng.integers(0, 2, size=k)]
        out.append(
            {
                a: float(rng.uniform(*HIGH_RANGE) if high else rng.uniform(*LOW_RANGE))
                for a, high in zip(attributes, pattern, strict=True)
            }
        )
    return out


def _answer(dilemma: Dilemma, truth: dict[str, float], beta: float, rng: np.random.Generator) -> int:
    p = choice_probabilities(dilemma.scores, truth, beta)
    return int(rng.choice(len(p), p=np.asarray(p) / sum(p)))


def _closest(dilemma: Dilemma, truth: dict[str, float]) -> set[int] | None:
    """The closest choices, if fewer than all (else the dilemma says nothing about this user)."""
    names = {a: v for a, v in truth.items() if all(a in s for s in dilemma.scores)}
    d = choice_distances(dilemma.scores, names)
    best = min(d)
    closest = {i for i, x in enumerate(d) if x <= best + 1e-9}
    return closest if len(closest) < len(d) else None


def run_calibration_eval(
    records: Sequence[DatasetRecord],
    config: CalibrationEvalConfig,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Simulate, estimate, score; the result is JSON-ready (see ``results_markdown``)."""
    checkpoints = sorted(set(config.answers))
    if not checkpoints or checkpoints[0] < 1:
        raise InputError("--answers: give positive numbers of answers, e.g. 5,10,20")
    attributes = config.attributes or usable_attributes(records)
    if not attributes:
        raise InputError("the data has no dilemma whose choices are all scored; pass other --data")
    dilemmas = calibration_dilemmas(records, attributes)
    missing = [a for a in attributes if not any(a in d.attributes for d in dilemmas)]
    if missing:
        raise InputError(
            f"no usable dilemma scores {', '.join(missing)}; leave them out of --attributes "
            f"(these can be calibrated: {', '.join(usable_attributes(records))})"
        )
    beta = noise_beta(config.noise)
    prior = Posterior.prior(attributes, config.model)
    pool = DilemmaPool(prior, dilemmas)
    rng = np.random.default_rng(config.seed)
    truths = simulated_targets(attributes, config.users, rng)
    horizon = min(checkpoints[-1], len(dilemmas))
    # per strategy, per checkpoint: per-user lists of absolute errors and direction hits
    errors: dict[str, dict[int, list[float]]] = {s: {c: [] for c in checkpoints} for s in STRATEGIES}
    hits: dict[str, dict[int, list[float]]] = {s: {c: [] for c in checkpoints} for s in STRATEGIES}
    per_attr: dict[str, dict[int, dict[str, list[float]]]] = {
        s: {c: {a: [] for a in attributes} for c in checkpoints} for s in STRATEGIES
    }
    wrong = [0, 0]  # answers not among the closest choices, answers on dilemmas with a closest choice
    for u, truth in enumerate(truths):
        seed = int(rng.integers(1 << 31))
        for strategy in STRATEGIES:
            user_rng = np.random.default_rng(seed)  # same answer noise stream for both strategies
            pick_rng = np.random.default_rng(seed + 1)
            post, asked = prior, list[str]()
            for step in range(1, checkpoints[-1] + 1):
                if step <= horizon:
                    d = pool.next(post, asked=asked, strategy=strategy, rng=pick_rng)
                    assert d is not None
                    choice = _answer(d, truth, beta, user_rng)
                    closest = _closest(d, truth)
                    if closest is not None and strategy == "active":
                        wrong[0] += choice not in closest
                        wrong[1] += 1
                    post = pool.answer(post, d.id, choice)
                    asked.append(d.id)
                if step in checkpoints:
                    est = post.estimate(with_map=False)
                    errs, right = [], []
                    for a in attributes:
                        e = est.attributes[a]
                        errs.append(abs(e.value - truth[a]))
                        ok = e.direction == ("high" if truth[a] > 0.5 else "low")
                        right.append(float(ok))
                        per_attr[strategy][step][a].append(float(ok))
                    errors[strategy][step].append(sum(errs) / len(errs))
                    hits[strategy][step].append(sum(right) / len(right))
        if progress is not None:
            progress(f"user {u + 1}/{len(truths)}")

    def block(strategy: str) -> dict[str, Any]:
        acc = {str(c): round(float(np.mean(hits[strategy][c])), 4) for c in checkpoints}
        ci = {}
        for c in checkpoints:
            interval = bootstrap_ci(hits[strategy][c], seed=config.seed)
            ci[str(c)] = [round(interval.low, 4), round(interval.high, 4)]
        return {
            "direction_accuracy": acc,
            "direction_accuracy_ci95": ci,
            "mae": {str(c): round(float(np.mean(errors[strategy][c])), 4) for c in checkpoints},
            "direction_accuracy_by_attribute": {
                str(c): {a: round(float(np.mean(v)), 4) for a, v in per_attr[strategy][c].items()}
                for c in checkpoints
            },
        }

    blocks = {s: block(s) for s in STRATEGIES}
    return {
        "direction_accuracy": blocks["active"]["direction_accuracy"],
        "mae": blocks["active"]["mae"],
        "strategies": blocks,
        "answers": checkpoints,
        "attributes": list(attributes),
        "noise": config.noise,
        "user_beta": None if math.isinf(beta) else beta,
        "wrong_answer_rate": round(wrong[0] / wrong[1], 4) if wrong[1] else None,
        "users": len(truths),
        "pool": len(dilemmas),
        "seed": config.seed,
        "estimator": config.model.model_dump(mode="json"),
    }


def results_markdown(result: dict[str, Any]) -> str:
    """The result as a markdown table: one row per number of answers, active vs random."""
    act, rnd = result["strategies"]["active"], result["strategies"]["random"]
    lines = [
        "| answers | direction right (active) | direction right (random) | MAE (active) | MAE (random) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in result["answers"]:
        k = str(c)
        lo, hi = act["direction_accuracy_ci95"][k]
        lines.append(
            f"| {c} | {act['direction_accuracy'][k]:.1%} ({lo:.0%}-{hi:.0%}) "
            f"| {rnd['direction_accuracy'][k]:.1%} | {act['mae'][k]:.3f} | {rnd['mae'][k]:.3f} |"
        )
    rate = result["wrong_answer_rate"]
    lines.append("")
    lines.append(
        f"{result['users']} simulated users, {len(result['attributes'])} attributes "
        f"({', '.join(result['attributes'])}), pool of {result['pool']} dilemmas, noise "
        f"{result['noise']} (user beta {result['user_beta'] or 'inf'}; "
        f"{'n/a' if rate is None else f'{rate:.1%}'} of answers not the closest choice), "
        f"seed {result['seed']}."
    )
    return "\n".join(lines)
