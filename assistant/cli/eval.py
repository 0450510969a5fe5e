"""``align eval``: measure algorithms on ALIGN-format datasets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from alignment.datasets import dataset_files
from alignment.errors import InputError
from alignment.evaluation import HOLDOUTS, SPLIT_RULE, SPLITS, parse_targets_spec, summary_markdown
from assistant.cli.common import Subcommands, add_command, parse_params
from assistant.cli.context import Cli
from assistant.evaluation.runner import EvalConfig, run_evaluation

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    p = add_command(
        sub,
        "eval",
        run,
        help="measure alignment accuracy of algorithms on datasets",
        description=(
            "Evaluate algorithms and deciders on ALIGN input_output files. Triage records are asked for a "
            "high (1.0) and a low (0.0) target of each attribute their choices carry; OpinionQA records "
            "for the file's demographic group. unaligned and random always run as baselines; with "
            "OpinionQA files, so does population (the answer pooled over the other groups' files "
            "evaluated, for the same question), and OpinionQA is also reported on its distinctive "
            "items (where the group's most common answer is not the population's). Without "
            "--algorithm and --decider, the settings' default decider is evaluated."
        ),
    )
    p.add_argument("--data", nargs="+", required=True, metavar="PATH", help="dataset files or directories")
    p.add_argument("--algorithm", help="comma-separated algorithms, labelled by their names")
    p.add_argument(
        "--decider",
        help="comma-separated deciders of the settings, labelled by the decider's name",
    )
    p.add_argument(
        "--holdout",
        choices=HOLDOUTS,
        default="scenario",
        help=(
            "what retrieval keeps out of the examples: scenario (the same scenario and near-duplicate "
            "texts; the default), attribute (that, and every example scoring the target's attributes: "
            "an attribute an admin just created), group (every example scoring the target's group; "
            "the same question answered by other groups is allowed)"
        ),
    )
    p.add_argument(
        "--split",
        choices=SPLITS,
        default="all",
        help=f"which half of the files: {SPLIT_RULE} (files given by name too); all: every file",
    )
    p.add_argument("--backbone", help="a named backbone (default: the default backbone)")
    targets = p.add_mutually_exclusive_group()
    targets.add_argument("--targets", help="target directions, e.g. high,low or high=0.9,low=0.1")
    targets.add_argument("--targets-file", help="JSON object of direction -> value")
    p.add_argument("--limit", type=int, help="first N records of each file")
    p.add_argument("--concurrency", type=int, default=1, help="parallel requests (openai backbones only)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME.KEY=VALUE",
        help="a parameter of an algorithm or decider of this run (NAME as in --algorithm / --decider)",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument(
        "--skip-baseline",
        action="append",
        choices=["unaligned"],
        default=[],
        help="leave this baseline out (unaligned asks the model once per item: on OpinionQA's 2,174 items "
        "that is most of the run); random and population always run",
    )
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true", help="print summary.json instead of the table")


def _targets(args: argparse.Namespace) -> dict[str, float] | None:
    try:
        if args.targets:
            return parse_targets_spec(args.targets)
        if args.targets_file:
            data = json.loads(Path(args.targets_file).read_text())
            if not isinstance(data, dict):
                raise ValueError("the file must hold a JSON object of direction -> value")
            return parse_targets_spec(",".join(f"{k}={v}" for k, v in data.items()))
    except (OSError, ValueError) as exc:
        raise InputError(f"targets: {exc}") from None
    return None


def _params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in parse_params(items).items():
        algorithm, dot, name = key.rpartition(".")
        if not dot or not algorithm:
            raise InputError(f"--param {key}: write it as ALGORITHM.KEY=VALUE, e.g. persona-vote.n_aligned=3")
        out.setdefault(algorithm, {})[name] = value
    return out


def _names(spec: str | None) -> list[str]:
    return [a.strip() for a in (spec or "").split(",") if a.strip()]


def run(args: argparse.Namespace, cli: Cli) -> int:
    config = EvalConfig(
        data=dataset_files(args.data),
        algorithms=_names(args.algorithm),
        deciders=_names(args.decider),
        holdout=args.holdout,
        split=args.split,
        backbone=args.backbone,
        targets=_targets(args),
        limit=args.limit,
        concurrency=args.concurrency,
        seed=args.seed,
        out=Path(args.out),
        resume=args.resume,
        params=_params(args.param),
        skip_baselines=args.skip_baseline,
    )
    # targets carry their definitions (descriptions, high and low texts), as in `align decide`
    summary = run_evaluation(
        cli.service, config, progress=not args.no_progress, attributes=cli.store.catalogue.current()
    )
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(summary_markdown(summary))
        print(f"results, summary.json, summary.md and accuracy.png are in {args.out}")
    return 0
