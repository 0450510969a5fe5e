"""How far can other groups' answers take a held-out OpinionQA group? An in-sample ceiling.

Run from the repository root: ``python docs/results/decider/ceilings/opinionqa_oracle.py``.
No model, no store: the answer shares of ``datasets/opinionqa`` only.

For each group g and each question some other group answered (leave-one-group-out: g's own answers
never enter a prediction, only the weights below are fitted on them):

- population: the option with the largest mean share over the other groups;
- oracle, linear: population + sum_h beta_h * (share_h - population), with the betas fitted by least
  squares **on g's own answers** (in-sample, so an upper bound for any method that combines the
  other groups' deviations linearly: sibling weights, related-group weights, learned group distances);
- oracle, one group: the single other group whose answers best match g's, chosen on g's own answers.

Reported: accuracy (the group's most common answer picked) on all these questions and on the
distinctive ones (the group's answer is not the population's).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path("datasets/opinionqa")


def load() -> dict[tuple[str, tuple[str, ...]], dict[str, np.ndarray]]:
    by_question: dict[tuple[str, tuple[str, ...]], dict[str, np.ndarray]] = defaultdict(dict)
    for path in sorted(ROOT.glob("*.json")):
        group = path.name.removesuffix("_input_output.json")
        for record in json.loads(path.read_text()):
            inp = record["input"]
            choices = tuple(c["unstructured"] for c in inp["choices"])
            shares = np.array([next(iter(c["kdma_association"].values())) for c in inp["choices"]], float)
            by_question[(inp["state"].strip(), choices)][group] = shares
    return by_question


def main() -> None:
    by_question = load()
    groups = sorted({g for answers in by_question.values() for g in answers})
    tally: Counter[str] = Counter()
    for g in groups:
        others = [h for h in groups if h != g]
        rows = []
        for answers in by_question.values():
            if g not in answers or len(answers) < 2:
                continue
            population = np.mean([answers[h] for h in answers if h != g], axis=0)
            deviations = np.array(
                [answers[h] - population if h in answers else np.zeros_like(population) for h in others]
            ).T
            rows.append((population, answers[g], deviations, answers))
        beta = np.linalg.lstsq(
            np.vstack([r[2] for r in rows]), np.concatenate([r[1] - r[0] for r in rows]), rcond=None
        )[0]
        best_one = max(
            others,
            key=lambda h: sum(int(np.argmax(a.get(h, pop)) == np.argmax(true)) for pop, true, _, a in rows),
        )
        for population, true, deviations, answers in rows:
            top = int(np.argmax(true))
            distinctive = int(np.argmax(population)) != top
            picks = {
                "population": int(np.argmax(population)),
                "oracle_linear": int(np.argmax(population + deviations @ beta)),
                "oracle_one_group": int(np.argmax(answers.get(best_one, population))),
            }
            tally["n"] += 1
            tally["n_distinctive"] += distinctive
            for name, pick in picks.items():
                tally[name] += pick == top
                tally[name + "_distinctive"] += distinctive and pick == top
    n, nd = tally["n"], tally["n_distinctive"]
    print(f"questions some other group answered: {n} (distinctive: {nd})")
    for name in ("population", "oracle_linear", "oracle_one_group"):
        print(f"{name:18s} all {tally[name] / n:.3f}   distinctive {tally[name + '_distinctive'] / nd:.3f}")


if __name__ == "__main__":
    main()
