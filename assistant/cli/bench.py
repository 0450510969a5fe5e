"""``align bench``: speed benchmarks (ratios measured in one run)."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.common import Subcommands, add_command, add_group, print_progress, print_report
from assistant.cli.context import Cli

__all__ = ["register", "summary_lines"]


def register(sub: Subcommands) -> None:
    bsub = add_group(sub, "bench", metavar="WHAT", help="benchmarks")
    b = add_command(
        bsub,
        "backbone",
        run_backbone,
        help="pipeline/raw and structured/unconstrained speed ratios",
        description=(
            "Medians of several runs on the embedded llamacpp backbone "
            "(see assistant/evaluation/bench_backbone.py)."
        ),
    )
    b.add_argument("--runs", type=int, default=3, help="number of runs (default 3)")
    b.add_argument("--repeats", type=int, default=2, help="timings per run, best kept (default 2)")
    b.add_argument("--backbone", help="a llamacpp backbone from the settings (default: the default one)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    from assistant.cli.bench_store import register_store

    register_store(bsub)
    from assistant.cli.bench_retrieval import register_retrieval

    register_retrieval(bsub)
    from assistant.cli.bench_serve import register_serve

    register_serve(bsub)
    from assistant.cli.bench_chat import register_chat

    register_chat(bsub)


_LINES = [
    ("pipeline_over_raw", "full persona decision / raw llama-cpp-python", "{:.3f}"),
    ("pipeline_over_raw_chosen_tokens", "same, raw generating only the model-chosen tokens", "{:.3f}"),
    ("structured_over_unconstrained", "structured tok/s / unconstrained tok/s", "{:.3f}"),
    ("prompt_eval_tps", "prompt evaluation, tokens/s", "{:.0f}"),
    ("unconstrained_tps", "unconstrained generation, tokens/s", "{:.1f}"),
    ("structured_tps", "schema-guided JSON generation, tokens/s", "{:.1f}"),
    ("grammar_tps", "llama.cpp JSON-schema grammar, tokens/s", "{:.1f}"),
    ("label_logprobs_s", "label log-probabilities (cold prompt), s", "{:.3f}"),
    ("pipeline_s", "persona decision, s", "{:.2f}"),
    ("raw_s", "raw llama-cpp-python, same prompt and tokens, s", "{:.2f}"),
    ("prompt_tokens", "prompt tokens", "{:.0f}"),
    ("decision_tokens", "decision output tokens", "{:.0f}"),
]


def run_backbone(args: argparse.Namespace, cli: Cli) -> int:
    from assistant.evaluation.bench_backbone import run_backbone_bench

    report = run_backbone_bench(
        cli.service,
        runs=args.runs,
        repeats=args.repeats,
        backbone_name=args.backbone,
        progress=print_progress,
    )
    return print_report(report, args.json, summary_lines)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report in words (``--json`` prints all of it)."""
    lines = [
        f"align bench backbone: {report['backbone']} ({report['model']}), "
        f"median of {report['runs']} runs, best of {report['repeats']}"
    ]
    for key, label, fmt in _LINES:
        line = f"  {label:<50} {fmt.format(report[key])}"
        if key in report["targets"]:
            t = report["targets"][key]
            line += f"   target {t['target']}: {'met' if t['met'] else 'NOT met'}"
        lines.append(line)
    return lines
