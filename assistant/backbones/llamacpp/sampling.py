"""Token choice from a logits row: greedy at temperature 0, else seeded top-k / top-p sampling.

Works on numpy views of llama.cpp's logits (262k entries for Gemma), so every step avoids a
full sort: candidates are first cut by a logit margin below the maximum.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["choose_among", "choose_token", "log_softmax", "top_candidates"]

TOP_K = 40
TOP_P = 0.95
_MARGINS = (8.0, 16.0, 32.0, float("inf"))

Logits = npt.NDArray[np.floating]


def top_candidates(logits: Logits, k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` highest logits, highest first (ties: lower index first)."""
    top = float(logits.max())
    idx = np.arange(0)
    for margin in _MARGINS:
        idx = np.flatnonzero(logits >= top - margin)
        if len(idx) >= k:
            break
    if len(idx) > 4 * k:
        part = np.argpartition(-logits[idx], k - 1)[:k]
        idx = idx[part]
    order = np.lexsort((idx, -logits[idx]))
    return idx[order][:k]


def _softmax(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()


def log_softmax(logits: Logits) -> npt.NDArray[np.float64]:
    row = logits.astype(np.float64)
    top = row.max()
    return row - top - np.log(np.exp(row - top).sum())


def choose_token(
    logits: Logits,
    rng: np.random.Generator,
    temperature: float,
    *,
    banned: Callable[[int], bool] | None = None,
    top_k: int = TOP_K,
    top_p: float = TOP_P,
) -> int:
    """One token id. ``banned(token)`` true excludes a token (checked on the top candidates only).

    Greedy (argmax) at temperature 0; otherwise top-k, then top-p, then a draw from ``rng``.
    """
    if temperature <= 0.0 and banned is None:
        return int(np.argmax(logits))
    k = top_k if temperature > 0.0 else 1
    want = k
    while True:
        cands = top_candidates(logits, want if banned is None else max(want, 64))
        if banned is not None:
            cands = cands[[not banned(int(t)) for t in cands]]
        if len(cands) > 0 or want >= len(logits):
            break
        want = min(len(logits), want * 16)
    if len(cands) == 0:
        raise ValueError("every token is banned")
    cands = cands[:k]
    if temperature <= 0.0 or len(cands) == 1:
        return int(cands[0])
    probs = _softmax(logits[cands].astype(np.float64) / temperature)
    keep = int(np.searchsorted(np.cumsum(probs), top_p) + 1)
    probs = probs[:keep] / probs[:keep].sum()
    return int(cands[int(rng.choice(len(probs), p=probs))])


def choose_among(scores: Logits, rng: np.random.Generator, temperature: float) -> int:
    """Index into ``scores`` (logits of allowed candidates): argmax, or a tempered draw."""
    if temperature <= 0.0 or len(scores) == 1:
        return int(np.argmax(scores))
    probs = _softmax(np.asarray(scores, dtype=np.float64) / temperature)
    return int(rng.choice(len(probs), p=probs))
