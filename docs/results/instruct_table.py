"""The table of docs/results/instruct.md from an `align eval` results.jsonl (a run may be partial).

    PYTHONPATH=. python docs/results/instruct_table.py runs/instruct-triage-dev1/results.jsonl
"""

import sys

from alignment.evaluation import EvalResult, summarise


def main(path: str) -> None:
    with open(path) as handle:
        rows = [EvalResult.model_validate_json(line) for line in handle if line.strip()]
    print(
        "| algorithm | accuracy [95% CI] | valid-items accuracy | positional bias | median s/item "
        "| retried | failed |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run in summarise(rows)["runs"]:
        acc, valid = run["overall"]["accuracy"], run["overall"]["accuracy_valid_only"]
        bias = run["position_bias"]
        share = bias["most_frequent_share"]
        n_all = sum(1 for r in rows if r.algorithm == run["algorithm"])
        print(
            f"| {run['algorithm']} | {acc['mean']:.2f} [{acc['low']:.2f}, {acc['high']:.2f}] (n={acc['n']}) "
            f"| {valid['mean']:.2f} (n={valid['n']}) "
            f"| {'-' if share is None else f'{share:.2f}'} (two-option n={bias['two_option_n']}); "
            f"positions {bias['positions']} | {run['median_seconds'] or 0:.1f} "
            f"| {run['retried']}/{n_all} | {run['errors']}/{n_all} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
