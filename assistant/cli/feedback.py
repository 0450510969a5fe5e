"""``align feedback DECISION_ID --agree | --disagree [--would-choose LETTER]``: say what you would do.

The feedback is stored, becomes a personal example that ``icl`` shows you (and only you) in
similar situations, and updates your calibrated profile when the decision scored its attributes.
"""

from __future__ import annotations

import argparse

from alignment.errors import InputError
from alignment.prompts import index_of_label
from assistant.cli.common import Subcommands, add_command
from assistant.cli.context import Cli
from assistant.cli.operator import acting_user, add_user_arg, print_json

__all__ = ["letter_index", "register"]


def register(sub: Subcommands) -> None:
    p = add_command(
        sub,
        "feedback",
        _feedback,
        help="agree or disagree with a logged decision, and say which option you would choose",
        description=(
            "Feedback on one of your logged decisions (see `align log list`). It is stored, it becomes "
            "a personal example the icl algorithm shows you (and only you) in similar situations, and "
            "it updates your calibrated profile (`align calibrate`) when the decision scored the "
            "profile's attributes per option."
        ),
    )
    p.add_argument("decision_id", type=int, metavar="DECISION_ID", help="the decision log id")
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--agree", action="store_true", help="the assistant chose what you would")
    verdict.add_argument("--disagree", action="store_true", help="you would choose another option")
    p.add_argument("--would-choose", metavar="LETTER", help="the option you would choose (A, B, ...)")
    p.add_argument(
        "--profile", help="the calibrated profile to update (default: the decision's, else newest)"
    )
    p.add_argument("--json", action="store_true")
    add_user_arg(p)


def letter_index(letter: str) -> int:
    """The option letter of ``--would-choose`` (B -> 1)."""
    try:
        return index_of_label(letter)
    except InputError:
        raise InputError(f"--would-choose {letter!r}: give the option's letter, e.g. B") from None


def _feedback(args: argparse.Namespace, cli: Cli) -> int:
    from assistant.decisions.feedback import give_feedback

    would = letter_index(args.would_choose) if args.would_choose else None
    store = cli.store
    result = give_feedback(
        store,
        cli.examples,
        acting_user(store, args.user),
        args.decision_id,
        agree=bool(args.agree),
        would_choose=would,
        profile=args.profile,
    )
    if args.json:
        print_json(result.model_dump(mode="json"))
        return 0
    fb = result.feedback
    print(
        f"Feedback {fb.id} on decision {fb.decision_id}: "
        f"{'agree' if fb.agree else 'disagree'}; you would choose "
        f"({chr(ord('A') + fb.chosen)}) {result.chosen}."
    )
    if result.example_id:
        print(f"Stored as your personal example {result.example_id} (icl shows it to you only).")
    cal = result.calibration
    if cal.updated:
        targets = ", ".join(f"{k} {v:.2f}" for k, v in (cal.targets or {}).items())
        print(f"Profile {cal.profile!r} re-estimated from {cal.answers} answers: {targets}.")
    else:
        print(f"Calibration not updated: {cal.reason}.")
    return 0
