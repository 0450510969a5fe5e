"""``align calibrate``: ask dilemmas in the terminal, estimate the person's values, save a profile.

The dilemmas come from the example store's triage examples (when it holds any) or from the
vendored triage data. Each next dilemma is the most informative one given the answers so far
(``alignment.calibration``). Answers are read line by line from a text stream, so the flow works
the same typed or piped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from alignment.calibration import (
    CalibrationEstimate,
    CalibrationModel,
    Dilemma,
    DilemmaPool,
    Posterior,
    calibration_dilemmas,
    usable_attributes,
)
from alignment.errors import InputError, NotFound
from assistant.settings import Settings, load_settings

__all__ = [
    "DEFAULT_PROFILE",
    "ask_dilemmas",
    "format_estimate",
    "load_dilemma_items",
    "run_calibrate_command",
    "save_estimate",
]

DEFAULT_PROFILE = "calibrated"
MAX_RETRIES = 3  # unreadable answers in a row to one dilemma before giving up


def _store_examples(settings: Settings) -> list[Any]:
    """The example store's triage examples, or [] when there is no store yet."""
    if not settings.chroma_host and not (Path(settings.data_dir) / "chroma").is_dir():
        return []
    from assistant.stores.embedding import MiniLMEmbedder
    from assistant.stores.examples import open_example_store

    store = open_example_store(settings, MiniLMEmbedder())
    total = store.count()
    return store.list_examples(domain="triage", limit=max(total, 1)) if total else []


def load_dilemma_items(settings: Settings, source: str, data: Sequence[str] | None) -> tuple[list[Any], str]:
    """Items to calibrate on and where they came from (``examples`` or ``data``)."""
    from assistant.calibration_eval import load_triage_records

    if source in ("auto", "examples") and not data:
        items = _store_examples(settings)
        if items:
            return items, "the example store"
        if source == "examples":
            raise InputError(
                "the example store holds no triage examples; import some "
                "(`align examples import datasets/triage`) or use --source data"
            )
    return list(load_triage_records(data)), "the triage data"


def _letters(n: int) -> str:
    return "".join(chr(ord("A") + i) for i in range(n))


def _read_choice(d: Dilemma, stdin: TextIO, stdout: TextIO) -> int | str | None:
    """A choice index, "skip", "quit", or None at the end of input."""
    letters = _letters(len(d.choices))
    for _ in range(MAX_RETRIES):
        stdout.write(f"Your choice [{letters[0]}-{letters[-1]}, s = skip, q = stop]: ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            stdout.write("\n")
            return None
        answer = line.strip().upper()
        if answer in ("S", "SKIP"):
            return "skip"
        if answer in ("Q", "QUIT"):
            return "quit"
        if len(answer) == 1 and answer in letters:
            return letters.index(answer)
        stdout.write(f"  {line.strip()!r} is not one of {', '.join(letters)}; type a letter.\n")
    raise InputError(
        f"no readable answer to dilemma {d.id} after {MAX_RETRIES} tries; answer with a letter "
        f"({', '.join(letters)}), s to skip or q to stop"
    )


def ask_dilemmas(
    pool: DilemmaPool,
    prior: Posterior,
    count: int,
    stdin: TextIO,
    stdout: TextIO,
    rng: np.random.Generator,
) -> Posterior:
    """Ask up to ``count`` dilemmas, each the most informative next one; the posterior after them."""
    post, asked = prior, list[str]()
    answered = 0
    while answered < count:
        d = pool.next(post, asked=asked, rng=rng)
        if d is None:
            stdout.write("No more dilemmas to ask.\n")
            break
        asked.append(d.id)
        stdout.write(f"\nDilemma {answered + 1} of {count}\n\n{d.text}\n\n")
        for letter, choice in zip(_letters(len(d.choices)), d.choices, strict=True):
            stdout.write(f"  {letter}) {choice}\n")
        got = _read_choice(d, stdin, stdout)
        if got is None or got == "quit":
            stdout.write("Stopped.\n")
            break
        if got == "skip":
            continue
        assert isinstance(got, int)
        post = pool.answer(post, d.id, got)
        answered += 1
    return post


def format_estimate(est: CalibrationEstimate, definitions: dict[str, Any] | None = None) -> str:
    lines = [
        f"Estimate from {est.answers} answers (value = posterior median, 90% interval, direction):",
        f"  {'attribute':<24} {'value':>5}  {'90% interval':<13} {'sd':>5}  direction",
    ]
    for name, e in est.attributes.items():
        if e.evidence == 0:
            lines.append(f"  {name:<24}   -    no answer touched it (not saved)")
            continue
        meaning = ""
        d = (definitions or {}).get(name)
        if d is not None and e.direction != "undecided":
            text = d.high if e.direction == "high" else d.low
            meaning = f" - {text[:60]}" if text else ""
        lines.append(
            f"  {name:<24} {e.value:5.2f}  [{e.low:.2f}, {e.high:.2f}]  {e.sd:5.2f}  "
            f"{e.direction} ({e.confidence:.0%}){meaning}"
        )
    return "\n".join(lines)


def _estimated_targets(est: CalibrationEstimate) -> dict[str, float]:
    return {n: round(e.value, 2) for n, e in est.attributes.items() if e.evidence > 0}


def save_estimate(store: Any, actor: Any, name: str, est: CalibrationEstimate) -> Any:
    """Create the profile ``name`` with the estimate, or update its calibrated attributes."""
    from profiles.schemas import ProfileCreate, ProfileUpdate

    targets = _estimated_targets(est)
    if not targets:
        raise InputError("no answer informed any attribute; nothing to save. Answer at least one dilemma")
    spread = ", ".join(f"{n} sd {est.attributes[n].sd:.2f}" for n in targets)
    description = (f"Calibrated from {est.answers} answers on {dt.date.today().isoformat()} ({spread})")[
        :2000
    ]
    try:
        store.profiles.get(actor, name)
    except NotFound:
        return store.profiles.create(
            actor, ProfileCreate(name=name, description=description, targets=targets)
        )
    return store.profiles.update(actor, name, ProfileUpdate(set_targets=targets, description=description))


def run_calibrate_command(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO) -> int:
    from assistant.cli.operator import acting_user, open_cli_store

    if not 1 <= args.answers <= 100:
        raise InputError("--answers must be between 1 and 100")
    settings = load_settings()
    items, origin = load_dilemma_items(settings, args.source, args.data)
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
        raise InputError(f"{origin} holds no dilemma whose choices are all scored; import triage examples")
    save = not args.no_save
    store = open_cli_store(settings) if save else None
    try:
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
            saved = save_estimate(store, actor, name, est)
            answers = [a.model_dump(mode="json") for a in post.answers]  # feedback re-estimates from them
            assert actor is not None
            store.calibrations.save(actor, saved.name, attributes, answers, args.seed)
            stdout.write(
                f"Saved as profile {saved.name!r} (version {saved.version}); use it with "
                f"`align decide --profile {saved.name}`.\n"
            )
        elif store is not None:
            stdout.write("No answers; nothing saved.\n")
    finally:
        if store is not None:
            store.close()
    if args.json:
        payload = {
            "estimate": est.model_dump(mode="json"),
            "answers": [a.model_dump(mode="json") for a in post.answers],
            "profile": saved.model_dump(mode="json") if saved is not None else None,
        }
        stdout.write(json.dumps(payload, indent=2) + "\n")
    return 0
