"""``align eval-calibration`` and ``align calibrate``: learn a profile from a person's own choices."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from alignment.errors import InputError
from assistant.cli.common import Subcommands, add_command, check_range
from assistant.cli.context import Cli
from assistant.cli.operator import add_user_arg

__all__ = ["parse_int_list", "register"]


def register(sub: Subcommands) -> None:
    e = add_command(
        sub,
        "eval-calibration",
        _eval,
        help="measure how well calibration recovers known targets (simulated users)",
        description=(
            "Simulated users with known targets (each attribute high or low: all high, all low, one "
            "high, one low, mixtures) answer triage dilemmas through the softmax choice model with a "
            "noise level. Reports mean absolute error and the share of attributes whose direction "
            "(high/low) is right after N answers, for active and for random selection."
        ),
    )
    e.add_argument("--answers", default="5,10,20", help="numbers of answers to score at (default 5,10,20)")
    e.add_argument(
        "--noise",
        default="low",
        help="the users' noise: none, low (beta 8), medium (4), high (2), or a beta (default low)",
    )
    e.add_argument("--users", type=int, default=64, help="simulated users (default 64)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument(
        "--attributes", help="comma-separated attributes (default: every one the data can calibrate)"
    )
    e.add_argument(
        "--data", nargs="+", metavar="PATH", help="triage files or folders (default datasets/triage)"
    )
    e.add_argument("--json", action="store_true", help="print the result as JSON")

    c = add_command(
        sub,
        "calibrate",
        _calibrate,
        help="answer a few dilemmas; learn your attribute values and save them as a profile",
        description=(
            "Shows K dilemmas, one at a time, each chosen to tell the most about your values given "
            "your answers so far. Answer with the letter of your choice (s to skip, q to stop). At the "
            "end it shows the estimated attribute values with their uncertainty and saves them as a "
            "profile. Answers are read from standard input, so they can be piped in."
        ),
    )
    c.add_argument("--answers", type=int, default=10, metavar="K", help="dilemmas to answer (default 10)")
    c.add_argument("--attributes", help="comma-separated attributes (default: every one the dilemmas score)")
    c.add_argument("--save-as", metavar="PROFILE", help="profile name to save (default 'calibrated')")
    c.add_argument("--no-save", action="store_true", help="show the estimate, save nothing")
    c.add_argument(
        "--domain",
        choices=["everyday", "triage"],
        default="everyday",
        help="dilemmas of everyday life (the default) or of medical triage",
    )
    c.add_argument(
        "--source",
        choices=["auto", "data", "examples"],
        default="auto",
        help="where dilemmas come from: the example store's examples of the domain, the vendored data, "
        "or auto (the example store if it holds examples of the domain, else the data)",
    )
    c.add_argument(
        "--data", nargs="+", metavar="PATH", help="files or folders of the domain (with --source data)"
    )
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true", help="print the final estimate as JSON")
    add_user_arg(c)


def parse_int_list(text: str, flag: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{flag} {text!r}: give whole numbers separated by commas, e.g. 5,10,20") from None
    if not values or any(v < 1 for v in values):
        raise InputError(f"{flag} {text!r}: give positive whole numbers, e.g. 5,10,20")
    return values


def _attributes(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise InputError("--attributes: name at least one attribute, e.g. fairness,risk_aversion")
    return names


def _eval(args: argparse.Namespace, cli: Cli) -> int:
    from assistant.evaluation.calibration import (
        CalibrationEvalConfig,
        noise_beta,
        results_markdown,
        run_calibration_eval,
    )
    from assistant.stores.seed_data import load_triage_records

    check_range(args.users, "--users", 1, 10_000)
    noise_beta(args.noise)  # a bad --noise fails before any work
    config = CalibrationEvalConfig(
        answers=parse_int_list(args.answers, "--answers"),
        noise=args.noise,
        users=args.users,
        seed=args.seed,
        attributes=_attributes(args.attributes),
    )
    records = load_triage_records(args.data)
    result = run_calibration_eval(records, config)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(results_markdown(result))
    return 0


def _calibrate(args: argparse.Namespace, cli: Cli) -> int:
    return run_calibrate_command(args, cli, stdin=sys.stdin, stdout=sys.stdout)


def run_calibrate_command(args: argparse.Namespace, cli: Cli, *, stdin: TextIO, stdout: TextIO) -> int:
    import numpy as np

    from alignment.calibration import (
        CalibrationModel,
        DilemmaPool,
        Posterior,
        calibration_dilemmas,
        usable_attributes,
    )
    from assistant.cli.operator import acting_user
    from assistant.decisions.calibration import (
        DEFAULT_PROFILE,
        ask_dilemmas,
        format_estimate,
        load_dilemma_items,
        save_estimate,
    )

    check_range(args.answers, "--answers", 1, 100)
    from assistant.stores.chroma import chroma_exists

    # the command's example store, where there is one (a calibration never creates it)
    items, origin = load_dilemma_items(
        lambda: cli.examples if chroma_exists(cli.settings) else None, args.source, args.data, args.domain
    )
    available = usable_attributes(items)
    if args.attributes:
        attributes = [x.strip() for x in args.attributes.split(",") if x.strip()]
        unknown = [a for a in attributes if a not in available]
        if unknown or not attributes:
            raise InputError(
                f"no dilemma in {origin} scores {', '.join(unknown) or 'those attributes'}; "
                f"these can be calibrated: {', '.join(available)}"
            )
    else:
        attributes = available
    if not attributes:
        raise InputError(
            f"{origin} holds no dilemma whose choices are all scored; import {args.domain} examples"
        )
    save = not args.no_save
    store = cli.store if save else None
    actor = acting_user(store, args.user) if store is not None else None
    definitions = store.attributes.definitions() if store is not None else {}
    missing = [a for a in attributes if a not in definitions]
    if store is not None and missing:
        raise InputError(
            f"attribute {', '.join(missing)} has no definition, so a profile cannot use it; "
            "load them with `align db seed` (or `align attributes add`), or pass --no-save"
        )
    prior = Posterior.prior(attributes, CalibrationModel(seed=args.seed))
    pool = DilemmaPool(prior, calibration_dilemmas(items, attributes))
    stdout.write(
        f"Calibrating {len(attributes)} attributes ({', '.join(attributes)}) with up to "
        f"{args.answers} dilemmas from {origin}. For each, pick what you would do.\n"
    )
    post = ask_dilemmas(pool, prior, args.answers, stdin, stdout, np.random.default_rng(args.seed))
    est = post.estimate()
    stdout.write("\n" + format_estimate(est, definitions) + "\n")
    saved = None
    if store is not None and est.answers:
        name = args.save_as or DEFAULT_PROFILE
        assert actor is not None
        saved = save_estimate(store, actor, name, est)
        answers = [a.model_dump(mode="json") for a in post.answers]  # feedback re-estimates from them
        store.calibrations.save(actor, saved.name, attributes, answers, args.seed)
        stdout.write(
            f"Saved as profile {saved.name!r} (version {saved.version}); use it with "
            f"`align decide --profile {saved.name}`.\n"
        )
    elif store is not None:
        stdout.write("No answers; nothing saved.\n")
    if args.json:
        payload = {
            "estimate": est.model_dump(mode="json"),
            "answers": [a.model_dump(mode="json") for a in post.answers],
            "profile": saved.model_dump(mode="json") if saved is not None else None,
        }
        stdout.write(json.dumps(payload, indent=2) + "\n")
    return 0
