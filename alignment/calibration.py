"""Calibration: estimate a person's alignment target from the choices they make (pure, no I/O).

Choice model (the ALIGN metric turned into a likelihood): a person with target ``t`` in [0, 1]^k
picks choice ``i`` of a dilemma with probability

    P(i | t, beta) = softmax_i(-beta * d_i(t)),   d_i(t) = sum_a |score_i[a] - t[a]|

over the attributes ``a`` the dilemma scores (``alignment.metrics.choice_distances``). ``beta`` is
how consistently the person follows their values (large = almost always the closest choice); it is
not known, so it is a nuisance parameter with a uniform prior over a few values.

The posterior over (t, beta) lives on a fixed set of points: a scrambled Sobol set in [0, 1]^k
(seeded, so results are reproducible) crossed with the beta values, weighted by a weak prior
(independent Beta(alpha, alpha), alpha slightly above 1, so a target with no evidence stays near
0.5) times the likelihood of the answers. From it:

- the estimate of each attribute: the posterior median (it minimises the expected absolute error),
  with the posterior mean, sd, a 90% credible interval and the MAP target (the mode of the smoothed
  posterior, found with L-BFGS-B under a smooth |x|; reported with the real distance);
- the direction (high / low) and its confidence, the posterior probability that t[a] is on that side
  of 0.5;
- active selection: the next dilemma is the one whose answer carries the most expected information
  (mutual information, beta marginalised) about the direction pattern of t (which attributes are
  high), or optionally about t itself; the first measured better (docs/calibration.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from alignment.errors import InputError

__all__ = [
    "DEFAULT_BETAS",
    "Answer",
    "AttributeEstimate",
    "CalibrationEstimate",
    "CalibrationModel",
    "Dilemma",
    "DilemmaPool",
    "Posterior",
    "calibration_dilemmas",
    "choice_probabilities",
    "usable_attributes",
]

FloatArray = npt.NDArray[np.float64]
Direction = Literal["high", "low", "undecided"]

DEFAULT_BETAS = (2.0, 4.0, 8.0, 16.0)
UNDECIDED_MARGIN = 0.005  # a median this close to 0.5 says nothing about the direction
_SMOOTH_EPS = 0.02  # |x| ~ sqrt(x^2 + eps^2) - eps, for the MAP optimisation only


class Dilemma(BaseModel):
    """A question to calibrate on: its choices and, per choice, attribute -> score in [0, 1]."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str = ""
    choices: list[str]
    scores: list[dict[str, float]]
    source: str | None = None

    @property
    def attributes(self) -> list[str]:
        return sorted({a for s in self.scores for a in s})


class Answer(BaseModel):
    """One answer, self-contained: the dilemma's scores and the index of the choice made."""

    model_config = ConfigDict(frozen=True)

    dilemma_id: str
    scores: list[dict[str, float]]
    choice: int

    @field_validator("scores")
    @classmethod
    def _scores(cls, value: list[dict[str, float]]) -> list[dict[str, float]]:
        if len(value) < 2:
            raise ValueError("an answer needs the scores of at least 2 choices")
        for per_choice in value:
            for name, score in per_choice.items():
                if not (math.isfinite(score) and 0.0 <= score <= 1.0):
                    raise ValueError(f"score of {name!r} is {score}; scores must be in [0, 1]")
        return value


class AttributeEstimate(BaseModel):
    name: str
    value: float  # posterior median: the estimate to use
    mean: float
    sd: float
    low: float  # 90% credible interval
    high: float
    map: float  # the most probable value (smoothed MAP of the joint target)
    direction: Direction
    confidence: float  # posterior probability of that direction (0.5 when undecided)
    evidence: int  # answers whose dilemma scores this attribute


class CalibrationEstimate(BaseModel):
    attributes: dict[str, AttributeEstimate]
    answers: int
    beta: float  # posterior mean of the consistency parameter
    effective_points: float  # effective sample size of the weighted points (a health check)

    def target(self, digits: int = 2) -> dict[str, float]:
        """The estimate as an alignment target (rounded medians)."""
        return {name: round(e.value, digits) for name, e in self.attributes.items()}


class CalibrationModel(BaseModel):
    """Settings of the estimator; the defaults are the ones measured in docs/calibration.md."""

    model_config = ConfigDict(frozen=True)

    betas: tuple[float, ...] = DEFAULT_BETAS
    prior_alpha: float = Field(default=1.5, ge=1.0, le=10.0)
    points: int = Field(default=4096, ge=64, le=1 << 17)
    seed: int = 0

    @field_validator("betas")
    @classmethod
    def _betas(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(not (math.isfinite(b) and b > 0) for b in value):
            raise ValueError("betas must be positive finite numbers")
        return tuple(sorted(set(value)))


def choice_probabilities(
    scores: Sequence[dict[str, float]], target: dict[str, float], beta: float
) -> list[float]:
    """P(choice i | target) under the softmax choice model (distance over the target's attributes
    that the choices are scored on). ``beta = inf``: the closest choices, ties shared."""
    names = [a for a in target if all(a in s for s in scores)]
    d = np.array([sum(abs(s[a] - target[a]) for a in names) for s in scores], dtype=float)
    if math.isinf(beta):
        best = d <= d.min() + 1e-12
        return list(best / best.sum())
    z = -beta * (d - d.min())
    p = np.exp(z)
    return list(p / p.sum())


def _scored_on(scores: Sequence[dict[str, float]]) -> set[str] | None:
    """The attributes every choice is scored on, if every choice is scored on the same ones."""
    sets = [frozenset(s) for s in scores]
    return set(sets[0]) if sets and all(x == sets[0] for x in sets) else None


def calibration_dilemmas(items: Iterable[Any], attributes: Sequence[str]) -> list[Dilemma]:
    """The items usable to calibrate ``attributes``, as dilemmas, each scenario once.

    An item (anything with ``text``, ``choices``, ``scores`` and an id: ``example_id()``,
    ``id`` or ``scenario_id``) is usable when it has at least 2 choices, every choice is scored on
    the same attributes, those attributes are all calibrated, and the choices differ on them.
    """
    wanted = set(attributes)
    out: dict[tuple[str, tuple[str, ...]], Dilemma] = {}
    for item in items:
        scores = [dict(s) for s in item.scores]
        if len(scores) < 2 or len(scores) != len(item.choices):
            continue
        on = _scored_on(scores)
        if not on or not on <= wanted:
            continue
        if all(s == scores[0] for s in scores):
            continue
        key = (item.text, tuple(item.choices))
        if key in out:
            continue
        if callable(getattr(item, "example_id", None)):
            id_ = item.example_id()
        else:
            id_ = getattr(item, "id", None) or getattr(item, "scenario_id", None) or f"item-{len(out)}"
        out[key] = Dilemma(
            id=str(id_),
            text=item.text,
            choices=list(item.choices),
            scores=scores,
            source=getattr(item, "source", None),
        )
    return list(out.values())


def usable_attributes(items: Iterable[Any]) -> list[str]:
    """Every attribute some usable item scores (all choices scored alike, choices differ)."""
    names: set[str] = set()
    for item in items:
        scores = [dict(s) for s in item.scores]
        on = _scored_on(scores) if len(scores) >= 2 else None
        if on and not all(s == scores[0] for s in scores):
            names |= on
    return sorted(names)


# -- the grid ----------------------------------------------------------------------------------


def _sobol(n: int, k: int, seed: int) -> FloatArray:
    from scipy.stats import qmc

    m = max(1, math.ceil(math.log2(n)))
    points = qmc.Sobol(d=k, scramble=True, seed=seed).random_base2(m)[:n]
    return np.asarray(points, dtype=float)


def _log_softmax(z: FloatArray, axis: int = -1) -> FloatArray:
    top = np.max(z, axis=axis, keepdims=True)
    return z - top - np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))


@dataclass(frozen=True)
class _Grid:
    attributes: tuple[str, ...]
    points: FloatArray  # (N, k)
    betas: FloatArray  # (B,)
    log_prior: FloatArray  # (B, N)
    alpha: float  # of the Beta(alpha, alpha) prior of each attribute

    def log_choice_probs(self, scores: Sequence[dict[str, float]]) -> FloatArray:
        """(B, N, C) log P(choice | t, beta) of one dilemma (its scored, calibrated attributes)."""
        names = [a for a in self.attributes if all(a in s for s in scores)]
        d = np.zeros((self.points.shape[0], len(scores)))
        for a in names:
            j = self.attributes.index(a)
            s = np.array([c[a] for c in scores])
            d += np.abs(s[None, :] - self.points[:, j : j + 1])
        return _log_softmax(-self.betas[:, None, None] * d[None, :, :])


def _make_grid(attributes: Sequence[str], model: CalibrationModel) -> _Grid:
    if not attributes:
        raise InputError("no attributes to calibrate; name at least one")
    if len(set(attributes)) != len(attributes):
        raise InputError("an attribute is named twice; name each once")
    k = len(attributes)
    points = _sobol(model.points, k, model.seed)
    points = np.clip(points, 1e-4, 1 - 1e-4)
    a = model.prior_alpha - 1.0
    log_prior_t = a * np.sum(np.log(points) + np.log1p(-points), axis=1)
    betas = np.asarray(model.betas, dtype=float)
    log_prior = np.broadcast_to(log_prior_t, (len(betas), len(points))) - math.log(len(betas))
    return _Grid(tuple(attributes), points, betas, np.array(log_prior), model.prior_alpha)


def _weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    cum /= cum[-1]
    return float(values[order][min(int(np.searchsorted(cum, q)), len(values) - 1)])


# -- the posterior -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Posterior:
    """Weights over (beta, t) after some answers. Immutable: ``observe`` returns a new one."""

    grid: _Grid
    log_weights: FloatArray  # (B, N), unnormalised
    answers: tuple[Answer, ...] = field(default=())

    @classmethod
    def prior(cls, attributes: Sequence[str], model: CalibrationModel | None = None) -> Posterior:
        grid = _make_grid(list(attributes), model or CalibrationModel())
        return cls(grid, grid.log_prior.copy())

    @property
    def attributes(self) -> tuple[str, ...]:
        return self.grid.attributes

    def weights(self) -> FloatArray:
        w = np.exp(self.log_weights - self.log_weights.max())
        return np.asarray(w / w.sum())

    def check(self, answer: Answer) -> list[str]:
        """The calibrated attributes the answer informs; InputError if it cannot be used."""
        if not 0 <= answer.choice < len(answer.scores):
            raise InputError(
                f"answer to {answer.dilemma_id}: choice {answer.choice} is not one of its "
                f"{len(answer.scores)} choices"
            )
        names = [a for a in self.attributes if all(a in s for s in answer.scores)]
        if not names:
            raise InputError(
                f"dilemma {answer.dilemma_id} scores none of the calibrated attributes "
                f"({', '.join(self.attributes)}) on every choice; it cannot inform the estimate"
            )
        return names

    def observe(self, answer: Answer, log_probs: FloatArray | None = None) -> Posterior:
        """The posterior after one more answer (``log_probs``: the dilemma's precomputed (B, N, C))."""
        self.check(answer)
        lp = log_probs if log_probs is not None else self.grid.log_choice_probs(answer.scores)
        return Posterior(self.grid, self.log_weights + lp[:, :, answer.choice], (*self.answers, answer))

    def observe_all(self, answers: Iterable[Answer]) -> Posterior:
        post = self
        for answer in answers:
            post = post.observe(answer)
        return post

    def estimate(self, *, with_map: bool = True) -> CalibrationEstimate:
        w = self.weights()
        wt = w.sum(axis=0)  # marginal over t points
        points = self.grid.points
        map_t = self._map(w) if with_map else points[int(np.argmax(wt))]
        evidence = {a: 0 for a in self.attributes}
        for answer in self.answers:
            for a in self.check(answer):
                evidence[a] += 1
        out: dict[str, AttributeEstimate] = {}
        for j, name in enumerate(self.attributes):
            x = points[:, j]
            mean = float(wt @ x)
            sd = float(math.sqrt(max(0.0, wt @ (x - mean) ** 2)))
            median = _weighted_quantile(x, wt, 0.5)
            p_high = float(wt[x > 0.5].sum())
            direction: Direction
            if not evidence[name]:  # no answer touched it: the prior speaks, not the person
                direction, confidence = "undecided", 0.5
            elif median > 0.5 + UNDECIDED_MARGIN:
                direction, confidence = "high", p_high
            elif median < 0.5 - UNDECIDED_MARGIN:
                direction, confidence = "low", 1.0 - p_high
            else:
                direction, confidence = "undecided", 0.5
            out[name] = AttributeEstimate(
                name=name,
                value=median,
                mean=mean,
                sd=sd,
                low=_weighted_quantile(x, wt, 0.05),
                high=_weighted_quantile(x, wt, 0.95),
                map=float(map_t[j]),
                direction=direction,
                confidence=confidence,
                evidence=evidence[name],
            )
        return CalibrationEstimate(
            attributes=out,
            answers=len(self.answers),
            beta=float(w.sum(axis=1) @ self.grid.betas),
            effective_points=float(1.0 / np.sum(w**2)),
        )

    def _map(self, w: FloatArray) -> FloatArray:
        """Mode of the log posterior in t (beta at its most probable value), smooth |x|, L-BFGS-B."""
        from scipy.optimize import minimize

        b, n = np.unravel_index(int(np.argmax(w)), w.shape)
        beta = float(self.grid.betas[b])
        start = self.grid.points[n]
        if not self.answers:
            return np.asarray(start)
        alpha = self.grid.alpha
        items = []
        for answer in self.answers:
            idx = [self.attributes.index(a) for a in self.check(answer)]
            s = np.array([[c[self.attributes[i]] for i in idx] for c in answer.scores])
            items.append((idx, s, answer.choice))

        def negative_log_posterior(t: FloatArray) -> tuple[float, FloatArray]:
            value = -(alpha - 1.0) * float(np.sum(np.log(t) + np.log1p(-t)))
            grad = -(alpha - 1.0) * (1.0 / t - 1.0 / (1.0 - t))
            for idx, s, choice in items:
                diff = s - t[idx][None, :]  # (C, m)
                root = np.sqrt(diff**2 + _SMOOTH_EPS**2)
                d = np.sum(root - _SMOOTH_EPS, axis=1)  # (C,)
                z = -beta * d
                lp = _log_softmax(z)
                p = np.exp(lp)
                value -= float(lp[choice])
                # d/dt of -log p_choice = beta * (dd_choice/dt - sum_i p_i dd_i/dt); dd/dt = -diff/root
                dd = -diff / root  # (C, m)
                g = beta * (dd[choice] - p @ dd)
                np.add.at(grad, idx, g)
            return value, grad

        result = minimize(
            negative_log_posterior,
            np.clip(start, 1e-3, 1 - 1e-3),
            jac=True,
            method="L-BFGS-B",
            bounds=[(1e-4, 1 - 1e-4)] * len(self.attributes),
        )
        return np.asarray(result.x if result.success else start)


# -- active selection --------------------------------------------------------------------------


def _entropy(p: FloatArray, axis: int = -1) -> FloatArray:
    return np.asarray(-np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=axis))


class DilemmaPool:
    """Dilemmas to ask, with their choice log-probabilities on the posterior's grid precomputed."""

    def __init__(self, posterior: Posterior, dilemmas: Sequence[Dilemma]) -> None:
        if not dilemmas:
            raise InputError(
                f"no dilemma scores the attributes {', '.join(posterior.attributes)}; "
                "add triage examples or choose other attributes"
            )
        self.grid = posterior.grid
        self.dilemmas = list(dilemmas)
        self.index = {d.id: i for i, d in enumerate(self.dilemmas)}
        width = max(len(d.choices) for d in self.dilemmas)
        b, n = self.grid.log_prior.shape
        self.log_probs = np.full((len(self.dilemmas), b, n, width), -np.inf)
        for m, d in enumerate(self.dilemmas):
            self.log_probs[m, :, :, : len(d.choices)] = self.grid.log_choice_probs(d.scores)
        probs = np.exp(self.log_probs)  # (M, B, N, C)
        self._probs = probs
        # each point's direction pattern (bit a set when t[a] > 0.5), renumbered densely
        bits = (self.grid.points > 0.5).astype(np.int64) @ (1 << np.arange(self.grid.points.shape[1]))
        cells = np.unique(bits, return_inverse=True)[1].astype(np.int64).ravel()
        self._order = np.argsort(cells, kind="stable")
        self._starts = np.searchsorted(cells[self._order], np.arange(int(cells.max()) + 1))

    def answer(self, posterior: Posterior, dilemma_id: str, choice: int) -> Posterior:
        m = self.index[dilemma_id]
        d = self.dilemmas[m]
        if not 0 <= choice < len(d.choices):
            raise InputError(f"choice {choice} is not one of the {len(d.choices)} choices of {dilemma_id}")
        answer = Answer(dilemma_id=d.id, scores=d.scores, choice=choice)
        return posterior.observe(answer, self.log_probs[m])

    def information_gain(
        self, posterior: Posterior, objective: Literal["direction", "target"] = "direction"
    ) -> FloatArray:
        """Per dilemma: expected information (nats) its answer carries, beta marginalised.

        ``direction``: about the pattern of directions (which attributes are above 0.5), what the
        estimate reports (measured better than ``target`` in docs/calibration.md);
        ``target``: about the target t itself.
        """
        w = posterior.weights()  # (B, N)
        wt = w.sum(axis=0)  # (N,)
        # P(y | t_n) = sum_b P(b | t_n) P(y | t_n, b)
        cond_b = w / np.where(wt > 0, wt, 1.0)[None, :]  # (B, N)
        p_y_t = np.einsum("bn,mbnc->mnc", cond_b, self._probs)  # (M, N, C)
        p_y = np.einsum("n,mnc->mc", wt, p_y_t)  # (M, C)
        if objective == "target":
            return np.asarray(_entropy(p_y) - np.einsum("n,mn->m", wt, _entropy(p_y_t)))
        # P(y, s) summed over the points of each direction pattern s (points sorted by pattern)
        weighted = (wt[:, None, None] * p_y_t.transpose(1, 0, 2))[self._order]  # (N, M, C)
        joint = np.add.reduceat(weighted, self._starts, axis=0)  # (S, M, C)
        mass = np.add.reduceat(wt[self._order], self._starts)  # (S,)
        p_y_s = joint / np.where(mass > 0, mass, 1.0)[:, None, None]
        return np.asarray(_entropy(p_y) - np.einsum("s,sm->m", mass, _entropy(p_y_s)))

    def next(
        self,
        posterior: Posterior,
        *,
        asked: Iterable[str] = (),
        strategy: Literal["active", "random"] = "active",
        objective: Literal["direction", "target"] = "direction",
        rng: np.random.Generator | None = None,
    ) -> Dilemma | None:
        """The next dilemma to ask (None when every one was asked)."""
        done = set(asked)
        open_ = [m for m, d in enumerate(self.dilemmas) if d.id not in done]
        if not open_:
            return None
        if strategy == "random":
            rng = rng or np.random.default_rng()
            return self.dilemmas[open_[int(rng.integers(len(open_)))]]
        gain = self.information_gain(posterior, objective)
        best = max(open_, key=lambda m: (round(float(gain[m]), 12), -m))
        return self.dilemmas[best]
