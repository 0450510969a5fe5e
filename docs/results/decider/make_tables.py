"""The default decider's tables from its `align eval` runs: the figures table (targets.md) and each
run's summary, development half and test half (summary.md, summary-dev.md, summary-test.md in this
folder), with the project's own summarise(). The runs come from the commands in docs/results/decider.md
(`--out runs/NAME`); their per-item results stay out of git.

    .venv/bin/python docs/results/decider/make_tables.py [RUNS_DIR]   # from the repository root (runs/)
"""

import gzip
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
RUNS = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs")

from alignment.evaluation import EvalResult, split_part, summarise, summary_markdown  # noqa: E402
from alignment.metrics import bootstrap_ci  # noqa: E402
from assistant.evaluation.runner import read_results  # noqa: E402

DATASETS = HERE.parents[2] / "datasets"


def results(run: str) -> list[EvalResult]:
    plain, packed = RUNS / run / "results.jsonl", RUNS / run / "results.jsonl.gz"
    if plain.exists():
        return read_results(plain)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.jsonl"
        path.write_bytes(gzip.decompress(packed.read_bytes()))
        return read_results(path)


def halves(run: str, rows: list[EvalResult]) -> None:
    names = [p.name for p in (DATASETS / run.split("-")[0]).glob("*.json")]
    distinctive = {
        r.item_id for r in rows if r.algorithm == "population" and r.correct is False and not r.missing
    }
    for part in ("dev", "test"):
        mine = [r for r in rows if split_part(names, r.source) == part]
        summary = summarise(mine, seed=0, distinctive=distinctive)
        summary["split"] = {"name": part, "files": sorted({r.source for r in mine})}
        head = f"# {run}, {part} half: {', '.join(summary['split']['files'])}\n\n"
        (HERE / run).mkdir(exist_ok=True)
        (HERE / run / f"summary-{part}.md").write_text(head + summary_markdown(summary))
    (HERE / run / "summary.md").write_text((RUNS / run / "summary.md").read_text())


def ci(values: list[bool]) -> str:
    c = bootstrap_ci([float(v) for v in values], seed=0)
    return f"{c.mean:.2f} [{c.low:.2f}, {c.high:.2f}] (n={c.n})"


def main() -> None:
    runs = {
        run: results(run)
        for run in (
            "triage-scenario",
            "triage-attribute",
            "everyday-scenario",
            "everyday-attribute",
            "opinionqa-group",
        )
    }
    for run, rows in runs.items():
        halves(run, rows)

    def aligned(run: str) -> list[EvalResult]:
        return [r for r in runs[run] if r.algorithm == "aligned" and r.error is None]

    lines = ["| figure | value-fit (decider `aligned`), mean [95% CI] |", "| --- | --- |"]

    def add(name: str, value: str) -> None:
        lines.append(f"| {name} | {value} |")

    every = aligned("everyday-scenario")
    add(
        "everyday, 10 values in no pack (`everyday_novel`, no stored example scores them)",
        ci([bool(r.correct) for r in every if "novel" in r.source]),
    )
    add("everyday, the two value packs", ci([bool(r.correct) for r in every if "packs" in r.source]))
    add(
        "everyday, value packs, leave-one-attribute-out",
        ci([bool(r.correct) for r in aligned("everyday-attribute") if "packs" in r.source]),
    )
    triage = aligned("triage-scenario")
    add("triage, all items, high and low targets", ci([bool(r.correct) for r in triage]))
    add("triage, valid items", ci([bool(r.correct) for r in triage if r.valid]))
    cells: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in triage:
        cells[(r.attribute, r.direction)].append(bool(r.correct))
    for (attribute, direction), values in sorted(cells.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))[:3]:
        add(f"triage, {attribute} {direction} (one of the 3 worst cells)", ci(values))
    add("triage, leave-one-attribute-out", ci([bool(r.correct) for r in aligned("triage-attribute")]))
    opinion = aligned("opinionqa-group")
    population = {r.item_id: r for r in runs["opinionqa-group"] if r.algorithm == "population"}
    covered = [r for r in opinion if not population[r.item_id].missing]
    add("OpinionQA, leave-one-group-out, all items", ci([bool(r.correct) for r in opinion]))
    add(
        "OpinionQA, leave-one-group-out, questions some other group answered",
        ci([bool(r.correct) for r in covered]),
    )
    add("  population baseline, same questions", ci([bool(population[r.item_id].correct) for r in covered]))
    add(
        "OpinionQA, distinctive questions",
        ci([bool(r.correct) for r in covered if population[r.item_id].correct is False]),
    )
    for run in ("triage-scenario", "everyday-scenario", "opinionqa-group"):
        summary = json.loads((RUNS / run / "summary.json").read_text())
        for r in summary["runs"]:
            if r["algorithm"] == "aligned":
                bias = r["position_bias"]
                add(
                    f"positional bias, two-option items, {run}",
                    f"{bias['most_frequent_share']:.2f} (n={bias['two_option_n']})",
                )
    (HERE / "targets.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
