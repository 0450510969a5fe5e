"""Token-level (late interaction) readers of a value's definition, beside value-fit's pooled contrast.

Run from the repository root: ``.venv/bin/python docs/results/decider/ceilings/token_probes.py`` (about a
minute on 2 cores). Same sets and accuracy as ``zero_shot_probes.py``, whose helpers it imports.

MiniLM's pooled sentence vector reads topic more than stance; its token vectors keep each word in its
context. A ColBERT-style reader scores an option by how well each of its tokens finds a match among
the tokens of the value's high text, minus ``w`` times the same for the low text (``o->d``), or the
other way round (``d->o``: each token of the definition looks for its match in the option).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import zero_shot_probes as z

_tokens: dict[str, np.ndarray] = {}


def tokens(texts: list[str]) -> list[np.ndarray]:
    """Unit token vectors of each text, [CLS] and [SEP] left out."""
    new = [t for t in dict.fromkeys(texts) if t not in _tokens]
    if new:
        out = z._embedder.model.encode(new, output_value="token_embeddings", convert_to_numpy=False)
        for text, matrix in zip(new, out, strict=True):
            m = matrix.numpy()[1:-1]
            _tokens[text] = m / np.linalg.norm(m, axis=1, keepdims=True)
    return [_tokens[t] for t in texts]


def maxsim(query: np.ndarray, doc: np.ndarray) -> float:
    """Mean over the query's tokens of the best cosine among the document's tokens."""
    return float((query @ doc.T).max(1).mean())


def late(direction: str, low_weight: float = 0.25) -> Callable[[z.Item], np.ndarray]:
    def probe(item: z.Item) -> np.ndarray:
        high, low = tokens(list(z.poles(item["attr"])))
        w = z.weight(item["attr"], low_weight)
        out = []
        for option in tokens(item["choices"]):
            if direction == "o->d":
                out.append(maxsim(option, high) - w * maxsim(option, low))
            elif direction == "d->o":
                out.append(maxsim(high, option) - w * maxsim(low, option))
            else:
                both_high = maxsim(option, high) + maxsim(high, option)
                out.append(both_high - w * (maxsim(option, low) + maxsim(low, option)))
        return np.array(out)

    return probe


def added(
    a: Callable[[z.Item], np.ndarray], b: Callable[[z.Item], np.ndarray], w: float
) -> Callable[..., np.ndarray]:
    def probe(item: z.Item) -> np.ndarray:
        pa, pb = a(item), b(item)
        return (pa - pa.mean()) + w * (pb - pb.mean())

    return probe


def main() -> None:
    pooled = z.contrast(0.25)
    probes: dict[str, Callable[[z.Item], np.ndarray]] = {
        "value-fit's pooled contrast": pooled,
        "late interaction, option tokens -> definition (o->d)": late("o->d"),
        "late interaction, definition tokens -> option (d->o)": late("d->o"),
        "late interaction, both ways": late("both"),
        "o->d, low weight 1": late("o->d", 1.0),
        "d->o, low weight 1": late("d->o", 1.0),
    }
    for w in (0.25, 0.5, 1.0):
        probes[f"pooled + {w} x o->d"] = added(pooled, late("o->d"), w)
        probes[f"pooled + {w} x d->o"] = added(pooled, late("d->o"), w)
    print("| probe | " + " | ".join(f"{k} (n={2 * len(v)})" for k, v in z.SETS.items()) + " |")
    print("| --- |" + " --- |" * len(z.SETS))
    for name, probe in probes.items():
        print(
            f"| {name} | " + " | ".join(f"{z.accuracy(items, probe):.2f}" for items in z.SETS.values()) + " |"
        )


if __name__ == "__main__":
    main()
