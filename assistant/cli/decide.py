"""``align decide``: one decision from the command line."""

from __future__ import annotations

import argparse
import json

from alignment.models import Decision
from alignment.prompts import label_of
from assistant.cli.common import Subcommands, add_command, parse_assignments, parse_params, read_text_arg
from assistant.cli.context import Cli
from assistant.cli.operator import acting_user, add_user_arg
from assistant.decisions.logged import decide_logged
from assistant.decisions.requests import DecideRequest

__all__ = ["format_decision", "register"]


def register(sub: Subcommands) -> None:
    p = add_command(
        sub,
        "decide",
        run,
        help="make one decision aligned to a target",
        description="Make one decision. The scenario comes from --scenario, --scenario-file or stdin.",
    )
    p.add_argument("--scenario", help="the situation, as text")
    p.add_argument("--scenario-file", help="read the situation from this file")
    p.add_argument("--choice", action="append", help="a choice (give 2 or more)")
    p.add_argument(
        "--target",
        action="append",
        metavar="NAME=VALUE",
        help="attribute target value in [0, 1] (repeatable)",
    )
    p.add_argument("--algorithm", help="unaligned, random, persona, persona-vote, likelihood, ...")
    p.add_argument("--decider", help="a named decider from the settings")
    p.add_argument("--backbone", help="a named backbone from the settings (default: embedded)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="algorithm parameter")
    p.add_argument("--seed", type=int, help="seed for reproducible sampling")
    p.add_argument(
        "--domain",
        help="the kind of dilemma (triage, everyday, ...): examples are drawn from it, and a value's "
        "reader record is used only if measured on it (default: none named, so no record is used)",
    )
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="use this stored profile of --user as the target (inline --target values add to it and win)",
    )
    add_user_arg(p)
    p.add_argument("--json", action="store_true", help="print the whole decision as JSON")


def format_decision(decision: Decision) -> str:
    lines = [
        f"Choice: ({label_of(decision.choice_index)}) {decision.choice}",
        f"Justification: {decision.justification}",
        "Scores:",
    ]
    for s in decision.scores:
        mark = "*" if s.index == decision.choice_index else " "
        score = "-" if s.score is None else f"{s.score:.3f}"
        extra = ", ".join(f"{k}={v:.2f}" for k, v in s.attributes.items())
        lines.append(f" {mark} ({label_of(s.index)}) {score}  {s.choice}" + (f"  [{extra}]" if extra else ""))
    lines.append(
        f"Algorithm: {decision.algorithm}  Backbone: {decision.backbone}  "
        f"Time: {decision.timings.get('total_s', 0.0):.2f}s  "
        f"Tokens: {decision.usage.prompt_tokens} in / {decision.usage.completion_tokens} out"
    )
    if decision.confidence is not None:
        lines.append(
            f"Confidence: {decision.confidence:.2f} (how likely this is the option the target asks for)"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace, cli: Cli) -> int:
    scenario = read_text_arg(args, "scenario", "scenario_file", "scenario")
    request = DecideRequest(
        scenario=scenario,
        choices=list(args.choice or []),
        target=parse_assignments(args.target, "--target") or None,
        algorithm=args.algorithm,
        decider=args.decider,
        backbone=args.backbone,
        params=parse_params(args.param),
        seed=args.seed,
        domain=args.domain or None,
    )
    store = cli.store  # every decision, also a failed one, goes to the decision log
    actor = acting_user(store, args.user)
    profile = store.profiles.load_target(actor, args.profile) if args.profile else None
    logged = decide_logged(
        cli.service,
        request,
        store.log.for_actor(actor),
        profile=profile,
        attributes=store.catalogue.current(),
    )
    decision = logged.decision
    if args.json:
        data = {**decision.model_dump(mode="json"), "log_id": logged.log_id}
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(format_decision(decision))
        print(f"Logged as decision {logged.log_id} (align log show {logged.log_id})")
    return 0
