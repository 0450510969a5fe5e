"""Calibration from answered dilemmas: ask them over a text stream, estimate the person's values, save a
profile. ``align calibrate`` (assistant/cli/calibration.py) runs it in the terminal.

The dilemmas are of one domain: everyday (the default: the value packs' example decisions) or
triage, on request. They come from the example store's examples of that domain (when it holds any)
or from the vendored data. Each next dilemma is the most informative one given the answers so far
(``alignment.calibration``). Answers are read line by line from a text stream, so the flow works
the same typed or piped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TextIO

import numpy as np

from alignment.calibration import (
    CalibrationEstimate,
    Dilemma,
    DilemmaPool,
    Posterior,
)
from alignment.datasets import DatasetRecord
from alignment.errors import InputError, NotFound
from alignment.example_admin import ExampleAdmin
from alignment.models import Example
from profiles.schemas import Actor, AttributePublic, ProfileCreate, ProfilePublic, ProfileUpdate
from profiles.store import Store

__all__ = [
    "CALIBRATION_DOMAINS",
    "DEFAULT_PROFILE",
    "ask_dilemmas",
    "format_estimate",
    "load_dilemma_items",
    "save_estimate",
]

DilemmaItem = Example | DatasetRecord  # what a dilemma is made of: a stored example or a data record
DEFAULT_PROFILE = "calibrated"
MAX_RETRIES = 3  # unreadable answers in a row to one dilemma before giving up


CALIBRATION_DOMAINS = ("everyday", "triage")  # the domains there are dilemmas to calibrate on


def _store_examples(examples: ExampleAdmin | None, domain: str) -> list[Example]:
    """The example store's examples of ``domain``, or [] when there is no store."""
    if examples is None:
        return []
    total = examples.count()
    return examples.list_examples(domain=domain, limit=max(total, 1)) if total else []


def load_dilemma_items(
    examples: Callable[[], ExampleAdmin | None],
    source: str,
    data: Sequence[str] | None,
    domain: str = "everyday",
) -> tuple[Sequence[DilemmaItem], str]:
    """Items of ``domain`` to calibrate on and where they came from (``examples`` or ``data``).

    ``examples()``: the example store the caller was handed (asked only when ``source`` allows
    it), or None where there is none."""
    from assistant.stores.seed_data import load_domain_records

    if domain not in CALIBRATION_DOMAINS:
        raise InputError(
            f"there are no {domain} dilemmas to calibrate on; choose {' or '.join(CALIBRATION_DOMAINS)}"
        )
    if source in ("auto", "examples") and not data:
        items = _store_examples(examples(), domain)
        if items:
            return items, "the example store"
        if source == "examples":
            raise InputError(
                f"the example store holds no {domain} examples; import some "
                "(`align setup` imports the shipped ones) or use --source data"
            )
    return list(load_domain_records(data, domain)), f"the {domain} data"


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


def format_estimate(est: CalibrationEstimate, definitions: dict[str, AttributePublic] | None = None) -> str:
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


def save_estimate(store: Store, actor: Actor, name: str, est: CalibrationEstimate) -> ProfilePublic:
    """Create the profile ``name`` with the estimate, or update its calibrated attributes."""
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
