"""The evidence-prior sweep's table from the results in this folder (run from the repository root).

    .venv/bin/python docs/eval/issue12/candidates/evidence-prior/table.py

Everyday value packs: the dilemmas split by their number, odd (everyday-packs-001, -003, ...) and even;
the choice of the prior is cross-validated over the two halves.
"""

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))

from alignment.metrics import bootstrap_ci  # noqa: E402


def rows(name: str) -> list[dict]:
    with gzip.open(HERE / name, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt(values: list[float]) -> str:
    ci = bootstrap_ci(values)
    return f"{ci.mean:.2f} [{ci.low:.2f}, {ci.high:.2f}] (n={ci.n})"


def dilemma_number(item_id: str) -> int:
    return int(item_id.split(":")[1].rsplit("-", 1)[1])


PRIORS = ("0.0001", "0.001", "0.003", "0.01", "0.03", "0.1", "1")
halves: dict[str, tuple[list[float], list[float]]] = {}
print("| evidence prior | packs, odd dilemmas | packs, even dilemmas | packs, all | triage, all |")
print("| --- | --- | --- | --- | --- |")
for prior in PRIORS:
    packs = rows(f"packs-{prior}.jsonl.gz")
    dev = [float(r["correct"]) for r in packs if dilemma_number(r["item_id"]) % 2 == 1]
    test = [float(r["correct"]) for r in packs if dilemma_number(r["item_id"]) % 2 == 0]
    triage_file = HERE / f"triage-{prior}.jsonl.gz"
    triage = fmt([float(r["correct"]) for r in rows(triage_file.name)]) if triage_file.exists() else "-"
    halves[prior] = (dev, test)
    print(f"| {prior} | {fmt(dev)} | {fmt(test)} | {fmt(dev + test)} | {triage} |")

# two-fold cross-validation of the choice itself: pick on one half (ties: the smaller prior), score the other
mean = {p: (sum(d) / len(d), sum(t) / len(t)) for p, (d, t) in halves.items()}
picked = [max(PRIORS, key=lambda p, k=k: (mean[p][k], -float(p))) for k in (0, 1)]
held = halves[picked[0]][1] + halves[picked[1]][0]
print()
old_dev, old_test = halves["0.0001"]
print(f"Chosen on the odd dilemmas: {picked[0]}, on the even ones: {picked[1]}.")
print(f"Each choice scored on the other half, both halves together: {fmt(held)};")
print(f"the old prior 0.0001 on the same items: {fmt(old_dev + old_test)}.")
