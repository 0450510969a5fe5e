"""The tables of docs/results/instruct.md from `align eval` results.jsonl files (a run may be partial).

    PYTHONPATH=. python docs/results/instruct_table.py \
        triage=runs/ie-triage-l1/results.jsonl triage=runs/ie-triage-l1-decider/results.jsonl \
        everyday=runs/ie-everyday-l2/results.jsonl

Each argument is DATASET=PATH or DATASET=PATH:NAME; several files of one dataset are read together
(random, a baseline of every run, counts once per item). NAME renames the file's algorithms (not
random) in the tables, for a run with other parameters or another model ("persona 1.5B"). Prints the
detail table (one row per algorithm and dataset) and the algorithms x datasets table with the 270M
base model's figures beside (quoted from docs/results/paper-algorithms.md: all 268 triage items and
110 OpinionQA items, not the items here). "mean of seeds": random's accuracy on the row's items
averaged over the runs given as SEEDS=DIR (DIR/*/results.jsonl: `align eval --algorithm random --seed
K`, several K), its expected accuracy (several options may be right); "high and low differ": of the
(item, value) pairs decided for both directions, how many got different choices (an algorithm that
ignores the target gets 0).

"s/call": the median of an item's seconds over its model calls. "x likelihood": the median s/item over
likelihood's (run with `--param likelihood.justify=false`: one call that reads the item's prompt and
writes one token, the raw cost of reading the question once) on the same dataset and run.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from statistics import median

from alignment.evaluation import EvalResult, summarise

# Gemma 3 270M base, docs/results/paper-algorithms.md (triage: all 268 items; OpinionQA: 110 items)
BASE_DATASETS = ("triage", "opinionqa")
BASE_270M: dict[str, tuple[str | None, str | None]] = {  # algorithm: its figure on each of BASE_DATASETS
    "random": ("0.45 [0.39, 0.50] (n=268)", "0.32 [0.23, 0.41] (n=110)"),
    "persona": ("0.43 [0.37, 0.49] (n=268)", "0.44 [0.35, 0.53] (n=110)"),
    "persona-vote": ("0.35 [0.23, 0.50] (n=48)", None),
    "likelihood": ("0.43 [0.38, 0.49] (n=268)", "0.40 [0.31, 0.49] (n=110)"),
    "icl": ("0.43 [0.37, 0.49] (n=268)", "0.44 [0.35, 0.53] (n=110)"),
    "regression": ("0.65 [0.59, 0.71] (n=268)", "0.54 [0.45, 0.63] (n=110)"),
    "aligned-instruct": ("aligned (value-fit): 0.84 [0.79, 0.88] (n=268)", None),
}
ORDER = ["random", "persona", "persona-vote", "likelihood", "icl", "regression", "aligned-instruct"]


SEEDS: dict[str, list[float]] = defaultdict(list)  # item id -> random's correctness under each seed


def load_seeds(directory: str) -> None:
    for path in sorted(Path(directory).glob("*/results.jsonl")):
        for line in path.read_text().splitlines():
            row = EvalResult.model_validate_json(line)
            if row.algorithm == "random" and row.error is None and row.correct is not None:
                SEEDS[row.item_id].append(float(row.correct))


def load(arguments: list[str]) -> dict[str, list[EvalResult]]:
    """Dataset -> its rows, one row per (item, algorithm): a baseline repeated across files counts once."""
    rows: dict[str, dict[tuple[str, str], EvalResult]] = defaultdict(dict)
    for argument in arguments:
        dataset, sep, path = argument.partition("=")
        if dataset == "SEEDS":
            load_seeds(path)
            continue
        if not sep:
            raise SystemExit(f"{argument!r}: expected DATASET=PATH or DATASET=PATH:NAME")
        path, _, name = path.partition(":")
        with open(path) as handle:
            for line in handle:
                if line.strip():
                    row = EvalResult.model_validate_json(line)
                    if name and row.algorithm != "random":
                        row = row.model_copy(update={"algorithm": name})
                    rows[dataset].setdefault((row.item_id, row.algorithm), row)
    return {dataset: list(by_key.values()) for dataset, by_key in rows.items()}


def _ci(block: dict[str, object] | None) -> str:
    if not block or not block.get("n"):
        return "-"
    return f"{block['mean']:.2f} [{block['low']:.2f}, {block['high']:.2f}] (n={block['n']})"


def detail(datasets: dict[str, list[EvalResult]]) -> dict[tuple[str, str], str]:
    """Print the detail table; return (algorithm, dataset) -> its accuracy cell with s/item."""
    print(
        "| algorithm | dataset | accuracy [95% CI] (n) | random, same items (seed 0 / mean of seeds) "
        "| high and low differ | valid-items accuracy "
        "| two-option first-position share (0.5 = none) | chosen positions | median s/item | s/call "
        "| x likelihood | retried | failed |"
    )
    print("| --- " * 13 + "|")
    cells: dict[tuple[str, str], str] = {}
    for dataset, rows in datasets.items():
        runs = {run["algorithm"]: run for run in summarise(rows)["runs"]}
        random_right = {r.item_id: r.correct for r in rows if r.algorithm == "random" and r.error is None}
        reference = runs.get("likelihood", {}).get("median_seconds")
        for name in sorted(runs, key=lambda a: (ORDER.index(a) if a in ORDER else len(ORDER), a)):
            run = runs[name]
            mine = [r for r in rows if r.algorithm == name]
            acc, valid = run["overall"]["accuracy"], run["overall"]["accuracy_valid_only"]
            bias = run["position_bias"]
            seconds = run["median_seconds"] or 0.0
            per_call = [r.seconds / r.calls for r in mine if r.calls and r.error is None]
            uses_model = any(r.calls for r in mine)
            ratio = f"{seconds / reference:.1f}" if reference and uses_model and name != "likelihood" else "-"
            same = [random_right.get(r.item_id) for r in mine if r.error is None and r.correct is not None]
            baseline = f"{sum(bool(x) for x in same) / len(same):.2f}" if same and None not in same else "-"
            seeded = [SEEDS[r.item_id] for r in mine if r.error is None and r.correct is not None]
            expected = "-"
            if seeded and all(seeded):
                expected = f"{sum(sum(x) / len(x) for x in seeded) / len(seeded):.2f}"
            share = bias["most_frequent_share"]
            print(
                f"| {name} | {dataset} | {_ci(acc)} | {baseline} / {expected} | {_differ(mine)} "
                f"| {_ci(valid)} "
                f"| {'-' if share is None else f'{share:.2f}'} (n={bias['two_option_n']}) "
                f"| {bias['positions']} | {seconds:.1f} | {f'{median(per_call):.1f}' if per_call else '-'} "
                f"| {ratio} | {run['retried']}/{len(mine)} | {run['errors']}/{len(mine)} |"
            )
            cells[(name, dataset)] = f"{_ci(acc)}, {seconds:.0f} s"
    return cells


def _differ(rows: list[EvalResult]) -> str:
    """Of the (item, value) pairs decided for both a high and a low target, how many got different choices."""
    by_pair: dict[tuple[str, str, str], dict[str, int | None]] = defaultdict(dict)
    for row in rows:
        if row.error is None and row.direction in ("high", "low"):
            pair = (row.source, row.item_id.rsplit(":", 1)[0], row.attribute)
            by_pair[pair][row.direction] = row.choice_index
    pairs = [pair for pair in by_pair.values() if len(pair) == 2]
    return f"{sum(pair['high'] != pair['low'] for pair in pairs)}/{len(pairs)}" if pairs else "-"


def _base(algorithm: str, dataset: str) -> str:
    """The 270M base model's figure for ``algorithm`` on ``dataset`` (one of BASE_DATASETS), or "-"."""
    figures = BASE_270M.get(algorithm, (None, None))
    return figures[BASE_DATASETS.index(dataset)] or "-"


def matrix(cells: dict[tuple[str, str], str], datasets: list[str]) -> None:
    names = sorted({a for a, _ in cells}, key=lambda a: (ORDER.index(a) if a in ORDER else len(ORDER), a))
    header = [f"{d}: instruct (0.5B unless the row names 1.5B)" for d in datasets]
    base = [d for d in datasets if d in BASE_DATASETS]
    header += [f"{d}: 270M base (all items)" for d in base]
    print("\n| algorithm | " + " | ".join(header) + " |")
    print("| --- " * (len(header) + 1) + "|")
    for name in names:
        row = [cells.get((name, d), "-") for d in datasets] + [_base(name, d) for d in base]
        print(f"| {name} | " + " | ".join(row) + " |")


def main(arguments: list[str]) -> None:
    datasets = load(arguments)
    matrix(detail(datasets), list(datasets))


if __name__ == "__main__":
    main(sys.argv[1:])
