"""The evidence-prior sweep's table from its runs (the commands in README.md here; run from the
repository root).

    .venv/bin/python docs/results/decider/candidates/evidence-prior/table.py [RUNS_DIR]     # default runs/

Everyday value packs: the dilemmas split by their number, odd (everyday-packs-001, -003, ...) and even;
the choice of the prior is cross-validated over the two halves.
"""

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))
RUNS = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs")

from alignment.metrics import bootstrap_ci  # noqa: E402


def rows(run: str) -> list[dict]:
    path = RUNS / run / "results.jsonl"
    text = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else gzip.decompress((RUNS / run / "results.jsonl.gz").read_bytes()).decode()
    )
    return [json.loads(line) for line in text.splitlines() if line.strip()]


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
    packs = [
        r for r in rows(f"ep-{prior}-everyday") if r["algorithm"] == "value-fit" and "packs" in r["source"]
    ]
    dev = [float(r["correct"]) for r in packs if dilemma_number(r["item_id"]) % 2 == 1]
    test = [float(r["correct"]) for r in packs if dilemma_number(r["item_id"]) % 2 == 0]
    triage_run = f"ep-{prior}-triage"
    triage = (
        fmt([float(r["correct"]) for r in rows(triage_run) if r["algorithm"] == "value-fit"])
        if (RUNS / triage_run).is_dir()
        else "-"
    )
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
