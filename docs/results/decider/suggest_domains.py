"""Which values the chat suggests for a dilemma, with and without the domain fit (alignment/suggest.py).

Run from the repository root: ``.venv/bin/python docs/results/decider/suggest_domains.py``.
For every dilemma of datasets/triage and datasets/everyday: the 3 seeded scalar attributes ranked by
cosine(dilemma, attribute text) + beta * closeness of the dilemma to the attribute's domain (the
cosine of its closest stored example of that domain, the dilemma's own text and the novel-values
file, which `align setup` does not store, kept out). Reported per set: how often the value the
dilemma is scored on is among the 3 (hit@3; not for the novel values, which are in no pack) and
the share of the 3 suggestions that belong to the dilemma's own domain.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from alignment.suggest import attribute_text, situation_text
from assistant.stores.embedding import MiniLMEmbedder

embedder = MiniLMEmbedder(query_threads=None)


def emb(texts: list[str]) -> np.ndarray:
    return np.array(embedder.embed(texts))


attrs = [
    a
    for p in sorted(Path("profiles/seeds").glob("*.json"))
    for a in json.loads(p.read_text()).get("attributes", [])
    if a.get("kind", "scalar") == "scalar"
]
names = [a["name"] for a in attrs]
domains = np.array([a["domain"] for a in attrs])
A = emb([attribute_text(a["name"], a["label"], a["description"], a["high"], a["low"]) for a in attrs])

records = []
for path in sorted(Path("datasets/triage").glob("*.json")) + sorted(Path("datasets/everyday").glob("*.json")):
    domain = "triage" if "triage" in str(path) else "everyday"
    for r in json.loads(path.read_text()):
        inp = r["input"]
        scores = [c.get("kdma_association") or {} for c in inp["choices"]]
        records.append(
            {
                "set": "everyday, novel values" if "novel" in path.name else domain,
                "domain": domain,
                "stored": "novel" not in path.name,
                "text": inp["state"],
                "choices": [c["unstructured"] for c in inp["choices"]],
                "attrs": {a for s in scores for a in s},
            }
        )
Q = emb([situation_text(r["text"], r["choices"]) for r in records])
T = emb([r["text"] for r in records])


def run(beta: float) -> dict[str, tuple[float | None, float]]:
    hits: dict[str, list[bool]] = {}
    share: dict[str, list[float]] = {}
    for i, r in enumerate(records):
        closeness = {}
        for d in ("triage", "everyday"):
            sims = [
                float(T[i] @ T[j])
                for j, s in enumerate(records)
                if s["domain"] == d and s["stored"] and j != i and float(T[i] @ T[j]) < 0.97
            ]
            closeness[d] = max(sims, default=0.0)
        score = A @ Q[i] + beta * np.array([closeness[d] for d in domains])
        top = [names[k] for k in np.argsort(-score)[:3]]
        if r["attrs"] & set(names):
            hits.setdefault(r["set"], []).append(bool(r["attrs"] & set(top)))
        share.setdefault(r["set"], []).append(
            float(np.mean([domains[names.index(t)] == r["domain"] for t in top]))
        )
    return {k: (float(np.mean(hits[k])) if k in hits else None, float(np.mean(v))) for k, v in share.items()}


print("| domain weight | set | hit@3 | own-domain share of the 3 |")
print("| --- | --- | --- | --- |")
for beta in (0.0, 0.5, 1.0, 2.0):
    for name, (hit, own) in run(beta).items():
        print(f"| {beta} | {name} | {'-' if hit is None else f'{hit:.2f}'} | {own:.2f} |")
